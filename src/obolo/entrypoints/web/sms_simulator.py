"""The SMS simulator: a phone on a page, for trying SMS commands in a demo.

Here anyone may type as any number and read what was texted to it, so every route of this
router is a 404 unless the server was started for a demo (`obolo serve --demo`) without a
gateway secret (`Settings.serves_sms_simulator`), decided before anything is read. A
message goes through the same `SmsService.receive` as the gateway's webhook; the page shows
the reply and what the console gateway sent to that number, nothing else of anyone's.
"""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.concurrency import run_in_threadpool

from obolo.adapters.ids import new_id
from obolo.adapters.sms_gateway import ConsoleSmsGateway
from obolo.bootstrap import Platform
from obolo.entrypoints.api.auth import get_platform
from obolo.entrypoints.demo import PEOPLE
from obolo.sms.model import normalize_phone
from obolo.sms.service import Inbound

PlatformDep = Annotated[Platform, Depends(get_platform)]


def demo_only(platform: PlatformDep) -> None:
    """Outside a demo the simulator does not exist (a 404 like any unknown path)."""
    if not platform.settings.serves_sms_simulator:
        raise HTTPException(404, "Not Found")


# On the router, not per route: a route added here later is off outside a demo as well.
router = APIRouter(include_in_schema=False, dependencies=[Depends(demo_only)])
_templates = Environment(
    loader=PackageLoader("obolo.entrypoints.web", "templates"), autoescape=select_autoescape(["html"])
)
# What a person types that holds a PIN is shown back masked: a bare PIN, OK <PIN>, PIN <old> <new>.
_SECRET = re.compile(r"^\s*(?:ok\s+|pin\s+)?[0-9]{4,6}(?:\s+[0-9]{4,6})?\s*$", re.IGNORECASE)


def _console(platform: Platform) -> ConsoleSmsGateway:
    gateway = platform.sms_gateway
    if not isinstance(gateway, ConsoleSmsGateway):  # a demo with OBOLO_SMS_GATEWAY_URL set
        raise HTTPException(404, "Not Found")
    return gateway


def _page(phone: str, sent: str | None, reply: str | None, inbox: list[str]) -> HTMLResponse:
    shown = None if sent is None else ("•" * 4 if _SECRET.match(sent) else sent)
    html = _templates.get_template("sms/simulator.html").render(
        phone=phone, sent=shown, reply=reply, inbox=inbox[-8:], examples=[p[2] for p in PEOPLE]
    )
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})


@router.get("/sms/simulator", response_class=HTMLResponse)
def simulator(platform: PlatformDep, phone: str = "") -> HTMLResponse:
    console = _console(platform)
    number = normalize_phone(phone) if phone else None
    return _page(number or phone[:20], None, None, console.sent_to(number) if number else [])


@router.post("/sms/simulator", response_class=HTMLResponse)
async def simulate(request: Request, platform: PlatformDep) -> HTMLResponse:
    console = _console(platform)
    form = dict(parse_qsl((await request.body()).decode("utf-8", errors="replace"), keep_blank_values=True))
    phone, body = form.get("phone", "")[:32], form.get("body", "")[:480]
    number = normalize_phone(phone)
    if number is None:
        return _page(phone, body, "Write the number with its country code, e.g. +393331234567.", [])
    message = Inbound(sid=f"sim-{new_id()}", sender=number, to="simulator", body=body)
    reply = await run_in_threadpool(platform.sms.receive, message)
    return _page(number, body, reply.text, console.sent_to(number))
