"""Who is calling: `Authorization: Bearer <session token or API key>` → a Principal.
Route handlers depend on `require_scope(...)` or `require_role(...)`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Header, Request
from starlette.concurrency import run_in_threadpool

from obolo.bootstrap import Platform
from obolo.errors import Forbidden, Unauthorized
from obolo.identity.errors import InsufficientScope
from obolo.identity.model import Principal, Role


async def get_platform(request: Request) -> Platform:
    # async: a plain lookup, not worth a hop to the thread pool on every request
    platform: Platform = request.app.state.platform
    return platform


#: The platform as a route's parameter: `platform: PlatformDep`.
PlatformDep = Annotated[Platform, Depends(get_platform)]


async def bearer_token(authorization: Annotated[str | None, Header()] = None) -> str | None:
    # async, as every dependency here that does no I/O: a plain function is run in the
    # thread pool, a hop of two thread switches on every request
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def current_principal(
    platform: Annotated[Platform, Depends(get_platform)],
    token: Annotated[str | None, Depends(bearer_token)],
) -> Principal:
    # A session checked lately is answered from memory, here on the event loop; only a
    # read of the database goes to the thread pool.
    principal = platform.identity.remembered(token) if token else None
    if principal is None and token:
        principal = await run_in_threadpool(platform.identity.authenticate, token)
    if principal is None:
        raise Unauthorized("a valid session token or API key is required (Authorization: Bearer ...)")
    return principal


def require_scope(scope: str) -> Callable[[Principal], Awaitable[Principal]]:
    async def dependency(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if not principal.allows(scope):
            raise InsufficientScope(f"this credential lacks the {scope!r} scope", scope=scope)
        return principal

    return dependency


def require_role(role: Role) -> Callable[[Principal], Awaitable[Principal]]:
    async def dependency(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if role not in principal.roles:
            raise Forbidden(f"this needs the {role.value} role")
        return principal

    return dependency


async def require_operator(
    principal: Annotated[Principal, Depends(require_scope("*"))],
) -> Principal:
    """An operator, on a credential allowed everything (`*`): what reaches into people's
    money and accounts is never done with a narrower key."""
    return await require_role(Role.OPERATOR)(principal)


async def require_session(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    """Credentials and roles are changed by a signed-in person, never by a program: an API
    key, whatever its scopes, could otherwise mint a broader key for itself."""
    if principal.via != "session":
        raise Forbidden("API keys and roles are managed with a session token, not with an API key")
    return principal


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"
