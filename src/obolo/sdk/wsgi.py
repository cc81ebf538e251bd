"""The paywall for WSGI apps (Flask, Django): the same rules and code as the ASGI
middleware — each request runs through it on a short-lived event loop (thread-safe
under threaded WSGI servers), with the WSGI app called inside."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import Any

from obolo.sdk.paywall import Message, PaywallMiddleware, Scope

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class WsgiPaywall:
    """Wrap a WSGI app: `app = WsgiPaywall(app, provider_id=..., prices=..., keys=..., server=...)`.
    Takes the same keyword arguments as PaywallMiddleware."""

    def __init__(self, app: WSGIApp, **options: Any) -> None:
        self.wsgi_app = app
        self.paywall = PaywallMiddleware(self._asgi_inner, **options)

    async def _asgi_inner(self, scope: Scope, receive: Any, send: Any) -> None:
        environ = scope["wsgi.environ"]
        captured: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured["status"] = int(status.split(" ", 1)[0])
            captured["headers"] = headers
            return lambda data: None

        body = b"".join(self.wsgi_app(environ, start_response))
        await send(
            {
                "type": "http.response.start",
                "status": captured["status"],
                "headers": [
                    (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in captured["headers"]
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        headers = [
            (key[5:].replace("_", "-").lower().encode("latin-1"), str(value).encode("latin-1"))
            for key, value in environ.items()
            if key.startswith("HTTP_")
        ]
        scope: Scope = {
            "type": "http",
            "method": environ.get("REQUEST_METHOD", "GET"),
            "path": environ.get("PATH_INFO", "/"),
            "headers": headers,
            "wsgi.environ": environ,
        }
        status: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def receive() -> Message:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                status["headers"] = [
                    (k.decode("latin-1"), v.decode("latin-1")) for k, v in message["headers"]
                ]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        asyncio.run(self.paywall(scope, receive, send))
        start_response(f"{status['code']} {_REASONS.get(status['code'], 'Status')}", status["headers"])
        return [b"".join(chunks)]


_REASONS = {200: "OK", 402: "Payment Required", 404: "Not Found", 500: "Internal Server Error"}
