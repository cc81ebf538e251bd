"""One person, for the operator: their file (balances, history, cards, SMS numbers, API
keys without secrets, sessions, audit entries), and freezing or unfreezing the account with
a reason, audited under the operator. Operators only."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, Field

from obolo.adapters.clock import iso
from obolo.bootstrap import Platform
from obolo.entrypoints.api.auth import PlatformDep, require_operator
from obolo.entrypoints.api.common import Input
from obolo.entrypoints.api.wallet_routes import ERRORS
from obolo.entrypoints.api.write_route import WriteRoute
from obolo.errors import NotFound
from obolo.identity import standing
from obolo.identity.model import Principal
from obolo.money import format_units
from obolo.reports.person import person_file

router = APIRouter(route_class=WriteRoute, prefix="/v1/admin/people", tags=["operator"])
Operator = Annotated[Principal, Depends(require_operator)]
PersonId = Annotated[str, Path(max_length=36)]


class ReasonIn(Input):
    reason: Annotated[str, Field(min_length=1, max_length=500)]


class StandingOut(BaseModel):
    frozen: bool
    frozen_at: str | None
    frozen_reason: str | None
    closed_at: str | None

    @classmethod
    def of(cls, s: standing.Standing) -> StandingOut:
        return cls(
            frozen=s.frozen_at is not None,
            frozen_at=iso(s.frozen_at) if s.frozen_at else None,
            frozen_reason=s.frozen_reason,
            closed_at=iso(s.closed_at) if s.closed_at else None,
        )


def _exists(platform: Platform, user_id: str) -> None:
    if person_file(platform.engine, user_id, platform.clock(), audit_limit=0) is None:
        raise NotFound("no such person")


@router.get("/{user_id}", responses=ERRORS)
def get_person(user_id: PersonId, platform: PlatformDep, principal: Operator) -> dict[str, Any]:
    """The person's file. Times are ISO 8601, amounts exact decimals."""
    found = person_file(platform.engine, user_id, platform.clock())
    if found is None:
        raise NotFound("no such person")

    def amount(units: int, asset: str) -> str:
        return format_units(units, platform.wallets.asset(asset))

    def when(ns: int | None) -> str | None:
        return iso(ns) if ns else None

    entries, _cursor = platform.wallets.history(user_id, 50)
    return {
        "id": found.id, "email": found.email, "display_name": found.display_name, "phone": found.phone,
        "language": found.language, "roles": found.roles, "created_at": iso(found.created_at),
        "standing": StandingOut.of(found.standing).model_dump(), "two_factor": found.two_factor,
        "balances": [
            {"asset": b.asset, "available": amount(b.available, b.asset),
             "reserved": amount(b.reserved, b.asset)}
            for b in platform.wallets.balances(user_id)
        ],
        "history": [
            {"id": e.movement.id, "kind": e.movement.kind.value, "status": e.movement.status.value,
             "direction": e.direction, "asset": e.movement.asset,
             "amount": amount(e.movement.amount, e.movement.asset), "created_at": iso(e.movement.created_at)}
            for e in entries
        ],
        "cards": [
            {"id": c["id"], "label": c["label"], "asset": c["asset"], "owed": amount(c["owed"], c["asset"]),
             "blocked_at": when(c["blocked_at"]), "created_at": iso(c["created_at"])}
            for c in found.cards
        ],
        "sms_numbers": [
            {"phone": n["phone"], "language": n["language"], "verified_at": iso(n["verified_at"])}
            for n in found.sms_numbers
        ],
        "api_keys": [
            {"id": k["id"], "prefix": k["prefix"], "name": k["name"], "scopes": k["scopes"],
             "created_at": iso(k["created_at"]), "last_used_at": when(k["last_used_at"]),
             "revoked_at": when(k["revoked_at"])}
            for k in found.api_keys
        ],
        "sessions": [
            {"id": s["id"], "created_at": iso(s["created_at"]), "last_used_at": when(s["last_used_at"]),
             "address": s["address"], "device": s["device"]}
            for s in found.sessions
        ],
        "audit": [
            {"seq": a["seq"], "at": iso(a["at"]), "actor": a["actor"], "action": a["action"],
             "details": a["details"], "address": a["address"]}
            for a in found.audit
        ],
    }  # fmt: skip


@router.post("/{user_id}/freeze", responses=ERRORS)
def freeze(user_id: PersonId, body: ReasonIn, platform: PlatformDep, principal: Operator) -> StandingOut:
    """Freeze the account: no sign-in, top-up, payment, withdrawal or channel until
    unfrozen. Audited with the operator and the reason."""
    _exists(platform, user_id)
    return StandingOut.of(
        standing.freeze(platform.engine, platform.clock, principal.user_id, user_id, body.reason)
    )


@router.post("/{user_id}/unfreeze", responses=ERRORS)
def unfreeze(user_id: PersonId, body: ReasonIn, platform: PlatformDep, principal: Operator) -> StandingOut:
    _exists(platform, user_id)
    return StandingOut.of(
        standing.unfreeze(platform.engine, platform.clock, principal.user_id, user_id, body.reason)
    )
