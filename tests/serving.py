"""An ASGI app served over real loopback HTTP in a thread, for clients that speak only HTTP
(x402's requests adapter, its facilitator client)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from tests.e2e.test_server import free_port


@contextmanager
def served(app: Any) -> Iterator[str]:
    """The app's base URL while it is served; stopped on leaving."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        thread.join(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
