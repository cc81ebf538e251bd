"""How `obolo serve` runs uvicorn: options that follow from the settings."""

from __future__ import annotations

from typing import Any

from obolo.settings import Settings

__all__ = ["server_options"]


def server_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's forwarded-header options. uvicorn believes X-Forwarded-For and -Proto from
    127.0.0.1 unless told otherwise, so anyone on the host (or behind a proxy that passes
    the header through) could choose the address their sign-in failures count against.
    Here they are believed only from the proxies OBOLO_TRUSTED_PROXIES names; none by default."""
    if not settings.trusted_proxies:
        return {"proxy_headers": False, "forwarded_allow_ips": ""}
    return {"proxy_headers": True, "forwarded_allow_ips": list(settings.trusted_proxies)}
