"""The SMS gateway's inbound webhook: a form POST signed by the gateway, answered with the
gateway's XML reply. Only the signature is checked here; the commands are the service's."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Annotated
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

from fastapi import APIRouter, Depends, Header, Request, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from obolo.adapters.clock import iso
from obolo.entrypoints.api.auth import PlatformDep, require_scope
from obolo.entrypoints.api.write_route import WriteRoute
from obolo.identity.model import Principal
from obolo.sms.errors import InvalidSignature, SmsNotConfigured
from obolo.sms.service import Inbound

router = APIRouter(route_class=WriteRoute, tags=["sms"])
XML = "application/xml"


def signature(token: str, url: str, params: list[tuple[str, str]]) -> str:
    """The gateway's signature: base64 HMAC-SHA1, keyed by the auth token, over the full
    URL followed by each POST parameter's name and value, sorted by name."""
    payload = url + "".join(name + value for name, value in sorted(params))
    digest = hmac.new(token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def twiml(text: str) -> Response:
    body = f"<Response><Message>{escape(text)}</Message></Response>" if text else "<Response></Response>"
    return Response('<?xml version="1.0" encoding="UTF-8"?>' + body, media_type=XML)


@router.post(
    "/v1/sms/inbound",
    summary="Inbound SMS from the gateway (form From, To, Body, MessageSid; signed)",
    responses={
        200: {"content": {XML: {}}},
        403: {"description": "missing or wrong signature"},
        422: {"description": "no MessageSid (sms_message_id_required): replays could not be told apart"},
    },
)
async def inbound(
    request: Request,
    platform: PlatformDep,
    x_twilio_signature: Annotated[str | None, Header()] = None,
) -> Response:
    token = platform.settings.sms_auth_token
    if not token:
        raise SmsNotConfigured("set OBOLO_SMS_AUTH_TOKEN to receive messages")
    raw = (await request.body()).decode("utf-8", errors="replace")
    params = parse_qsl(raw, keep_blank_values=True)
    base = platform.settings.public_url
    url = str(request.url)
    if base:
        url = base.rstrip("/") + request.url.path + (f"?{request.url.query}" if request.url.query else "")
    expected = signature(token, url, params)
    if not x_twilio_signature or not hmac.compare_digest(expected.encode(), x_twilio_signature.encode()):
        raise InvalidSignature("the request is not signed by the SMS gateway")
    form = dict(params)
    message = Inbound(
        sid=form.get("MessageSid", ""),
        sender=form.get("From", ""),
        to=form.get("To", ""),
        body=form.get("Body", ""),
    )
    reply = await run_in_threadpool(platform.sms.receive, message)
    return twiml(reply.text)


class LinkCode(BaseModel):
    code: str = Field(description="Text JOIN <code> from the phone to link it to this account.")
    expires_at: str
    instructions: str


@router.post("/v1/sms/link", status_code=201, summary="A code to link a phone number to this account by SMS")
def link(
    platform: PlatformDep, principal: Annotated[Principal, Depends(require_scope("wallets:write"))]
) -> LinkCode:
    """The number that texts `JOIN <code>` within ten minutes becomes this account's SMS
    number (its wallet, its PIN). A new code replaces the previous one."""
    code, expires_at = platform.sms.link_code(principal.user_id)
    return LinkCode(
        code=code, expires_at=iso(expires_at), instructions=f"From your phone, text JOIN {code} to Obolo."
    )
