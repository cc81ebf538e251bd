"""People and access over HTTP: sign-up, sessions, the current user, roles, API keys."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, BackgroundTasks, Depends, Path, Request, Response
from pydantic import BaseModel, Field

from obolo.adapters.clock import iso
from obolo.entrypoints.api.auth import (
    PlatformDep,
    bearer_token,
    client_address,
    current_principal,
    require_session,
)
from obolo.entrypoints.api.common import Input
from obolo.entrypoints.api.wallet_routes import ERRORS
from obolo.entrypoints.api.write_route import WriteRoute
from obolo.identity.model import ApiKey, Principal, Role, User

router = APIRouter(route_class=WriteRoute, prefix="/v1", tags=["people"])
Me = Annotated[Principal, Depends(current_principal)]
# Changing roles and keys needs a session: a stolen narrow key must not widen itself.
SignedIn = Annotated[Principal, Depends(require_session)]
RoleName = Literal["consumer", "provider", "employer", "worker", "operator"]
ScopeName = Literal[
    "*", "wallets:read", "wallets:write", "payments:write", "provider:*", "provider:read", "webhooks:*"
]


class Strict(Input):  # untrimmed: spaces are part of a password
    pass


class SignUpIn(Strict):
    email: Annotated[str, Field(min_length=3, max_length=254)]
    password: Annotated[str, Field(min_length=1, max_length=256)]
    display_name: Annotated[str, Field(min_length=1, max_length=100)]
    phone: Annotated[str, Field(min_length=3, max_length=32)] | None = None


class UserOut(BaseModel):
    id: str
    email: str
    display_name: str
    phone: str | None
    roles: list[RoleName]
    created_at: str

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(
            id=user.id,
            email=user.email,
            display_name=user.display_name,
            phone=user.phone,
            roles=sorted(r.value for r in user.roles),
            created_at=iso(user.created_at),
        )


class SignInIn(Strict):
    email: Annotated[str, Field(min_length=1, max_length=254)]
    password: Annotated[str, Field(min_length=1, max_length=256)]


class PhoneSignInIn(Strict):
    phone: Annotated[str, Field(min_length=3, max_length=32, description="with its country code")]
    code: Annotated[str, Field(pattern=r"^[0-9]{6}$", description="the six digits texted to the number")]


class PhoneCodeIn(Strict):
    phone: Annotated[str, Field(min_length=3, max_length=32, description="with its country code")]


class PhoneCodeOut(BaseModel):
    detail: str


class SessionOut(BaseModel):
    token: str
    expires_at: str
    user: UserOut


class RoleIn(Strict):
    role: RoleName


class ApiKeyIn(Strict):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    scopes: Annotated[list[ScopeName], Field(min_length=1, max_length=10)]


class ApiKeyOut(BaseModel):
    id: str
    prefix: str
    name: str
    scopes: list[str]
    created_at: str
    last_used_at: str | None
    revoked_at: str | None

    @classmethod
    def of(cls, key: ApiKey) -> ApiKeyOut:
        return cls(
            id=key.id,
            prefix=key.prefix,
            name=key.name,
            scopes=sorted(key.scopes),
            created_at=iso(key.created_at),
            last_used_at=iso(key.last_used_at) if key.last_used_at else None,
            revoked_at=iso(key.revoked_at) if key.revoked_at else None,
        )


class NewApiKeyOut(ApiKeyOut):
    secret: str = Field(description="The full key: shown this once, stored only hashed.")


@router.post("/users", status_code=201, responses=ERRORS)
def sign_up(body: SignUpIn, platform: PlatformDep) -> UserOut:
    """Create an account (email + password; phone optional, with country code)."""
    return UserOut.of(platform.identity.sign_up(body.email, body.password, body.display_name, body.phone))


@router.post("/sessions", status_code=201, responses=ERRORS)
def sign_in(body: SignInIn | PhoneSignInIn, request: Request, platform: PlatformDep) -> SessionOut:
    """Exchange email and password, or a phone number and the code texted to it (see
    `POST /v1/sessions/phone-codes`), for a bearer token. A wrong, expired or used code is
    401 `invalid_code`, whichever it was. Repeated failures slow down, then lock for a
    while (429 with Retry-After)."""
    address, device = client_address(request), request.headers.get("user-agent")
    if isinstance(body, PhoneSignInIn):
        token, expires_at, user = platform.phone_sign_in.sign_in(body.phone, body.code, address, device)
    else:
        token, expires_at, user = platform.identity.sign_in(body.email, body.password, address, device)
    return SessionOut(token=token, expires_at=iso(expires_at), user=UserOut.of(user))


@router.post("/sessions/phone-codes", status_code=202, responses=ERRORS)
def request_phone_code(
    body: PhoneCodeIn, request: Request, platform: PlatformDep, background: BackgroundTasks
) -> PhoneCodeOut:
    """Text a six-digit sign-in code to a number that opened its wallet by SMS. The answer
    is the same whether or not the number has a wallet; the code lives 10 minutes and
    allows 5 tries. A number (and an address) may ask a few times an hour (429)."""
    message = platform.phone_sign_in.request_code(body.phone, client_address(request))
    if message is not None:
        background.add_task(platform.phone_sign_in.deliver, message)
    return PhoneCodeOut(detail="if this number has a wallet, a code is on its way by text message")


@router.delete("/sessions/current", status_code=204, responses=ERRORS)
def sign_out(
    platform: PlatformDep, principal: Me, token: Annotated[str | None, Depends(bearer_token)]
) -> Response:
    """Revoke the session token used for this request."""
    if principal.via == "session" and token:
        platform.identity.sign_out(token)
    return Response(status_code=204)


@router.get("/me", responses=ERRORS)
def me(platform: PlatformDep, principal: Me) -> UserOut:
    return UserOut.of(platform.identity.get_user(principal.user_id))


@router.post("/me/roles", status_code=201, responses=ERRORS)
def add_role(body: RoleIn, platform: PlatformDep, principal: SignedIn) -> UserOut:
    """Take on a role: provider, employer, worker (operator is granted by an operator)."""
    return UserOut.of(platform.identity.add_role(principal.user_id, Role(body.role)))


@router.post("/api-keys", status_code=201, responses=ERRORS)
def create_api_key(body: ApiKeyIn, platform: PlatformDep, principal: SignedIn) -> NewApiKeyOut:
    """A key for a program, limited to `scopes`. The secret is in this answer only."""
    key, secret = platform.identity.create_api_key(principal.user_id, body.name, list(body.scopes))
    return NewApiKeyOut(**ApiKeyOut.of(key).model_dump(), secret=secret)


@router.get("/api-keys", responses=ERRORS)
def list_api_keys(platform: PlatformDep, principal: SignedIn) -> list[ApiKeyOut]:
    return [ApiKeyOut.of(k) for k in platform.identity.list_api_keys(principal.user_id)]


@router.delete("/api-keys/{key_id}", status_code=204, responses=ERRORS)
def revoke_api_key(
    key_id: Annotated[str, Path(max_length=36)], platform: PlatformDep, principal: SignedIn
) -> Response:
    platform.identity.revoke_api_key(principal.user_id, key_id)
    return Response(status_code=204)
