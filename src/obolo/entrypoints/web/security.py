"""Cookies, CSRF and response headers for the pages.

- The session cookie holds the identity service's session token (never an API key):
  HttpOnly, SameSite=Lax, Path=/, and Secure whenever the page is served over https. On a
  plain-http local run (http://127.0.0.1) a Secure cookie would never come back, so the
  flag follows the request's scheme; behind a TLS proxy name it in OBOLO_TRUSTED_PROXIES
  so its X-Forwarded-Proto makes the scheme https (see docs/decisions/web-sessions-and-csrf.md).
- CSRF: every form carries a token that is an HMAC, under a key derived from the
  platform's secret key, of a random per-browser cookie and the session token. A forged
  form lacks the cookie's value and the key, so it cannot compute it; a new sign-in
  changes the token. The API is not affected: it authenticates by header only.
- Pages get a Content-Security-Policy without inline scripts or styles.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from urllib.parse import urlsplit

from fastapi import Request
from starlette.responses import Response

SESSION_COOKIE = "obolo_session"
BROWSER_COOKIE = "obolo_browser"
LANGUAGE_COOKIE = "obolo_lang"
#: The browser's IANA time zone, written by obolo.js, so dates read in the person's zone.
ZONE_COOKIE = "obolo_tz"
CSRF_FIELD = "csrf"
BROWSER_COOKIE_SECONDS = 365 * 24 * 3600

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def is_https(request: Request) -> bool:
    return request.url.scheme == "https"


def set_cookie(response: Response, request: Request, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name, value, max_age=max_age, path="/", secure=is_https(request), httponly=True, samesite="lax"
    )


def clear_cookie(response: Response, request: Request, name: str) -> None:
    response.delete_cookie(name, path="/", secure=is_https(request), httponly=True, samesite="lax")


def new_browser_id() -> str:
    return secrets.token_urlsafe(24)


def csrf_token(key: bytes, browser_id: str, session_token: str | None) -> str:
    message = f"{browser_id}|{session_token or ''}".encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def csrf_valid(key: bytes, browser_id: str | None, session_token: str | None, submitted: object) -> bool:
    if not browser_id or not isinstance(submitted, str) or not submitted:
        return False
    return hmac.compare_digest(csrf_token(key, browser_id, session_token), submitted)


def local_path(target: str | None, default: str = "/wallet") -> str:
    """`target` if it is a path on this site, else `default`: a `next=` parameter must
    never send someone to another site after signing in."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target
