"""The wallet as a W3C payment handler, for shops' `PaymentRequest`.

Obolo's payment method identifier is `<server>/pay/method`: it answers with a `Link:
rel="payment-method-manifest"` header (and the manifest itself), which names the web app
manifest; that names the service worker and an icon, so Chromium installs the handler just
in time, the first time a shop asks. The service worker answers `paymentrequest` events
by opening the confirm window (`/pay/handler/confirm`), where the signed-in person sees
merchant, amount and items and confirms or cancels; the window hands the signed result
back to the service worker, which answers the shop's page.

The server checks what the browser says against the payment request it holds: the page's
origin must be the merchant's registered one, and the amount the browser showed must be
the request's. `/checkout.js` is the merchant side: `PaymentRequest` where the browser has
it, the hosted checkout page elsewhere.
"""

from __future__ import annotations

import struct
import zlib
from functools import cache
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from obolo.checkout.errors import PaymentRequestNotFound
from obolo.checkout.service import PaymentRequest
from obolo.entrypoints.web.checkout_i18n import checkout_translator
from obolo.entrypoints.web.context import STATIC, Form, Visitor, VisitorDep, render, text
from obolo.entrypoints.web.format import parse_amount
from obolo.errors import OboloError
from obolo.money import Amount, MoneyError

router = APIRouter(include_in_schema=False)
METHOD_PATH = "/pay/method"
SCOPE = "/pay/handler/"
# The handler's window lives in a browser window of its own; it must never be framed.
WINDOW_HEADERS = {"X-Frame-Options": "DENY", "Cross-Origin-Opener-Policy": "same-origin"}


def _base(request: Request) -> str:
    """Manifests name absolute URLs on the origin the browser reached us at."""
    platform = request.app.state.platform
    return str(platform.settings.public_url or request.base_url).rstrip("/")


def _public(body: Any, media_type: str = "application/json", **headers: str) -> Response:
    headers = {"Cache-Control": "no-cache", "Access-Control-Allow-Origin": "*", **headers}
    if isinstance(body, (dict, list)):
        return JSONResponse(body, media_type=media_type, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


def _method_manifest(request: Request) -> dict[str, Any]:
    return {"default_applications": [f"{_base(request)}{SCOPE}app.json"], "supported_origins": []}


@router.api_route(METHOD_PATH, methods=["GET", "HEAD"])
def payment_method(request: Request) -> Response:
    """The payment method identifier: its manifest, and the header that names it."""
    link = f'<{_base(request)}{METHOD_PATH}/manifest.json>; rel="payment-method-manifest"'
    return _public(_method_manifest(request), Link=link)


@router.get(f"{METHOD_PATH}/manifest.json")
def payment_method_manifest(request: Request) -> Response:
    return _public(_method_manifest(request))


@router.get(f"{SCOPE}app.json")
def web_app_manifest(request: Request) -> Response:
    """The handler's web app manifest: name, icon and service worker."""
    base = _base(request)
    return _public(
        {
            "name": "Obolo",
            "short_name": "Obolo",
            "start_url": f"{base}/wallet",
            "icons": [{"src": f"{base}{SCOPE}icon.png", "sizes": "96x96", "type": "image/png"}],
            "serviceworker": {"src": f"{base}{SCOPE}sw.js", "scope": f"{base}{SCOPE}", "use_cache": False},
        },
        media_type="application/manifest+json",
    )


@router.get(f"{SCOPE}sw.js")
def service_worker() -> Response:
    body = (STATIC / "payment-handler-sw.js").read_bytes()
    return Response(body, media_type="text/javascript; charset=utf-8", headers={"Cache-Control": "no-cache"})


@router.get(f"{SCOPE}window.js")
def window_script() -> Response:
    body = (STATIC / "payment-handler-window.js").read_bytes()
    return Response(body, media_type="text/javascript; charset=utf-8", headers={"Cache-Control": "no-cache"})


@router.get("/checkout.js")
def merchant_script() -> Response:
    """The script shops load from here (any origin may)."""
    body = (STATIC / "checkout.js").read_bytes()
    headers = {"Cache-Control": "public, max-age=300", "Cross-Origin-Resource-Policy": "cross-origin"}
    return Response(body, media_type="text/javascript; charset=utf-8", headers=headers)


@router.get(f"{SCOPE}icon.png")
def icon() -> Response:
    return Response(icon_png(), media_type="image/png", headers={"Cache-Control": "public, max-age=86400"})


@cache
def icon_png(size: int = 96) -> bytes:
    """The handler's icon: Obolo's ring on its green, drawn here (no image files to ship)."""
    rows = []
    centre, outer, inner = (size - 1) / 2, size * 0.42, size * 0.27
    for y in range(size):
        row = bytearray([0])
        for x in range(size):
            distance = ((x - centre) ** 2 + (y - centre) ** 2) ** 0.5
            row += bytes((255, 255, 255) if inner <= distance <= outer else (21, 101, 72))
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows)))
        + chunk(b"IEND", b"")
    )


# -- the confirm window ------------------------------------------------------------------------

FIELDS = ("request", "origin", "frame", "amount", "currency")


def _fields(source: Any) -> dict[str, str]:
    return {name: str(source.get(name) or "")[:300] for name in FIELDS}


def _window(page: Visitor, status: int = 200, **context: Any) -> Response:
    c = checkout_translator(page)
    response = render(page, "checkout/handler.html", status, c=c, title=c("Pay with Obolo"), **context)
    response.headers.update(WINDOW_HEADERS)
    return response


def _check(page: Visitor, fields: dict[str, str]) -> PaymentRequest:
    """The payment request, once the browser's account of it matches ours: the shop's page
    on the merchant's registered origin, the amount it showed the request's. Raises
    PaymentRequestNotFound, OriginNotRegistered, AmountMismatch."""
    checkout = page.platform.checkout
    request = checkout.payment_request(fields["request"][:36])
    for origin in {fields["origin"], fields["frame"] or fields["origin"]}:
        checkout.check_origin(request, origin)
    try:
        shown = parse_amount(
            fields["amount"], page.platform.wallets.asset(fields["currency"] or request.asset)
        )
    except (MoneyError, OboloError) as error:
        raise PaymentRequestNotFound("the browser named no amount") from error
    checkout.check_amount(request, shown)
    return request


def _status(refused: OboloError) -> int:
    if refused.code == "origin_not_registered":
        return 403
    return 409 if refused.code in ("payment_request_paid", "payment_request_expired") else 422


@router.get(f"{SCOPE}confirm")
def confirm_window(page: VisitorDep) -> Response:
    fields = _fields(page.request.query_params)
    try:
        request = _check(page, fields)
    except OboloError as refused:
        return _window(page, _status(refused), refused=refused)
    here = f"{SCOPE}confirm?{urlencode(fields)}"
    return _window(page, request=request, fields=fields, here=here)


@router.post(f"{SCOPE}confirm")
def confirm(page: VisitorDep, form: Form) -> Response:
    """Pay (once: the same payer again gets the same result), then hand the result to the
    service worker; a refusal is shown and the shop's page told it was not paid."""
    fields = _fields(form)
    try:
        request = _check(page, fields)
        if page.principal is None:
            return _window(
                page, 401, request=request, fields=fields, here=f"{SCOPE}confirm?{urlencode(fields)}"
            )
        shown = Amount(request.amount, page.platform.wallets.asset(request.asset))
        paid = page.platform.checkout.pay(
            page.principal.user_id, request.id, protection=text(form, "protection") == "yes",
            origin=fields["origin"], expected=shown,
        )  # fmt: skip
    except OboloError as refused:
        return _window(page, _status(refused), refused=refused)
    return _window(page, request=paid.request, fields=fields, result=paid.result)
