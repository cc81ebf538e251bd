"""The account its holder manages, over HTTP: password, email, phone, sessions, two-factor
sign-in, a copy of one's data, closing the account; and the second step of a two-factor
sign-in. Changes need a session (an API key manages no account)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Path, Request, Response
from pydantic import BaseModel, Field

from obolo.account import data as account_data
from obolo.account.service import SessionInfo
from obolo.adapters.clock import iso
from obolo.entrypoints.api.auth import PlatformDep, client_address, require_session
from obolo.entrypoints.api.identity_routes import SessionOut, Strict, UserOut
from obolo.entrypoints.api.wallet_routes import ERRORS
from obolo.entrypoints.api.write_route import WriteRoute
from obolo.identity.model import Principal

router = APIRouter(route_class=WriteRoute, prefix="/v1", tags=["account"])
SignedIn = Annotated[Principal, Depends(require_session)]
Password = Annotated[str, Field(min_length=1, max_length=256)]
Code = Annotated[str, Field(min_length=6, max_length=20, description="six digits, or a recovery code")]


class TwoFactorSignInIn(Strict):
    challenge: Annotated[str, Field(min_length=1, max_length=300, description="from `two_factor_required`")]
    code: Code


class PasswordIn(Strict):
    current_password: Password
    new_password: Password


class RevokedOut(BaseModel):
    sessions_revoked: int


class EmailIn(Strict):
    password: Password
    email: Annotated[str, Field(min_length=3, max_length=254)]


class PhoneIn(Strict):
    phone: Annotated[str, Field(min_length=3, max_length=32, description="with its country code")]


class CodeIn(Strict):
    code: Code


class SentOut(BaseModel):
    detail: str


class SessionInfoOut(BaseModel):
    id: str
    created_at: str
    last_used_at: str | None
    expires_at: str
    address: str | None
    device: str | None = Field(description="the User-Agent it was opened with")
    current: bool

    @classmethod
    def of(cls, s: SessionInfo) -> SessionInfoOut:
        return cls(
            id=s.id, created_at=iso(s.created_at),
            last_used_at=iso(s.last_used_at) if s.last_used_at else None,
            expires_at=iso(s.expires_at), address=s.address, device=s.device, current=s.current,
        )  # fmt: skip


class EnrolmentOut(BaseModel):
    secret: str = Field(description="for typing into the app; shown this once")
    otpauth_uri: str = Field(description="the same, as a QR code's content")


class RecoveryCodesOut(BaseModel):
    recovery_codes: list[str] = Field(description="ten one-time codes, shown this once")


class TwoFactorOut(BaseModel):
    enabled: bool
    recovery_codes_left: int


class CloseIn(Strict):
    password: Password
    iban: Annotated[str, Field(min_length=5, max_length=50)] | None = None


@router.post("/sessions/two-factor", status_code=201, responses=ERRORS)
def finish_two_factor_sign_in(body: TwoFactorSignInIn, request: Request, platform: PlatformDep) -> SessionOut:
    """The second step of a sign-in answered 401 `two_factor_required`: its `challenge`
    and a code from the authenticator app (or a recovery code, good once)."""
    token, expires_at, user = platform.two_factor.complete_sign_in(
        body.challenge, body.code, client_address(request), request.headers.get("user-agent")
    )
    return SessionOut(token=token, expires_at=iso(expires_at), user=UserOut.of(user))


@router.put("/me/password", responses=ERRORS)
def change_password(body: PasswordIn, platform: PlatformDep, principal: SignedIn) -> RevokedOut:
    """A new password, the current one asked again (403 `wrong_password`); every other
    session is revoked."""
    revoked = platform.account.change_password(
        principal.user_id, body.current_password, body.new_password, principal.credential_id
    )
    return RevokedOut(sessions_revoked=revoked)


@router.post("/me/email", status_code=202, responses=ERRORS)
def request_email_change(body: EmailIn, platform: PlatformDep, principal: SignedIn) -> SentOut:
    """Mail a code to the new address; `POST /v1/me/email/confirm` with it makes the change."""
    platform.account.request_email_change(principal.user_id, body.password, body.email)
    return SentOut(detail="if this address can be yours, a code is on its way to it")


@router.post("/me/email/confirm", responses=ERRORS)
def confirm_email_change(body: CodeIn, platform: PlatformDep, principal: SignedIn) -> UserOut:
    platform.account.confirm_contact(principal.user_id, "email", body.code)
    return UserOut.of(platform.identity.get_user(principal.user_id))


@router.post("/me/phone", status_code=202, responses=ERRORS)
def request_phone_change(
    body: PhoneIn, platform: PlatformDep, principal: SignedIn, background: BackgroundTasks
) -> SentOut:
    """Text a code to the new number; `POST /v1/me/phone/confirm` with it makes the change."""
    message = platform.account.request_phone_change(principal.user_id, body.phone)
    if message is not None:
        background.add_task(platform.account.deliver, message)
    return SentOut(detail="if this number can be yours, a code is on its way to it")


@router.post("/me/phone/confirm", responses=ERRORS)
def confirm_phone_change(body: CodeIn, platform: PlatformDep, principal: SignedIn) -> UserOut:
    platform.account.confirm_contact(principal.user_id, "phone", body.code)
    return UserOut.of(platform.identity.get_user(principal.user_id))


@router.get("/me/sessions", responses=ERRORS)
def list_sessions(platform: PlatformDep, principal: SignedIn) -> list[SessionInfoOut]:
    """The sessions open now; `current` is the one asking."""
    return [
        SessionInfoOut.of(s) for s in platform.account.sessions(principal.user_id, principal.credential_id)
    ]


@router.delete("/me/sessions", responses=ERRORS)
def revoke_other_sessions(platform: PlatformDep, principal: SignedIn) -> RevokedOut:
    """Revoke every session but the one asking."""
    return RevokedOut(
        sessions_revoked=platform.account.revoke_other_sessions(principal.user_id, principal.credential_id)
    )


@router.delete("/me/sessions/{session_id}", status_code=204, responses=ERRORS)
def revoke_session(
    session_id: Annotated[str, Path(max_length=36)], platform: PlatformDep, principal: SignedIn
) -> Response:
    platform.account.revoke_session(principal.user_id, session_id)
    return Response(status_code=204)


@router.get("/me/two-factor", responses=ERRORS)
def two_factor_status(platform: PlatformDep, principal: SignedIn) -> TwoFactorOut:
    return TwoFactorOut(
        enabled=platform.two_factor.enabled(principal.user_id),
        recovery_codes_left=platform.two_factor.recovery_codes_left(principal.user_id),
    )


@router.post("/me/two-factor", status_code=201, responses=ERRORS)
def begin_two_factor(platform: PlatformDep, principal: SignedIn) -> EnrolmentOut:
    """A new TOTP secret for an authenticator app; on only once confirmed with a code."""
    enrolment = platform.two_factor.begin(principal.user_id)
    return EnrolmentOut(secret=enrolment.secret, otpauth_uri=enrolment.uri)


@router.post("/me/two-factor/confirm", responses=ERRORS)
def confirm_two_factor(body: CodeIn, platform: PlatformDep, principal: SignedIn) -> RecoveryCodesOut:
    """Turn two-factor sign-in on with a code from the app: the recovery codes, once."""
    return RecoveryCodesOut(recovery_codes=platform.two_factor.confirm(principal.user_id, body.code))


@router.post("/me/two-factor/disable", status_code=204, responses=ERRORS)
def disable_two_factor(body: CodeIn, platform: PlatformDep, principal: SignedIn) -> Response:
    platform.two_factor.disable(principal.user_id, body.code)
    return Response(status_code=204)


@router.get("/me/export", responses=ERRORS)
def export_my_data(platform: PlatformDep, principal: SignedIn) -> dict[str, Any]:
    """Everything kept about you, as JSON: profile, wallets, history, sessions, API keys,
    audit entries. No secret is in it."""
    return account_data.export(platform.account, platform.wallets, principal.user_id)


@router.post("/me/close", status_code=204, responses=ERRORS)
def close_account(body: CloseIn, platform: PlatformDep, principal: SignedIn) -> Response:
    """Close the account for good. With money in it, name an `iban`: the balance is paid out
    there first; without one that is 409 `balance_not_zero`."""
    account_data.close(platform.account, platform.wallets, principal.user_id, body.password, body.iban)
    return Response(status_code=204)
