"""Rules about people and access: pure, no I/O."""

from __future__ import annotations

import enum
from dataclasses import dataclass

import phonenumbers

from obolo.identity.errors import InvalidPhone, UnknownScope


class Role(enum.StrEnum):
    CONSUMER = "consumer"
    PROVIDER = "provider"
    EMPLOYER = "employer"
    WORKER = "worker"
    OPERATOR = "operator"


#: Roles a person may take on by themselves; `operator` is granted by an operator.
SELF_SERVICE_ROLES = frozenset({Role.CONSUMER, Role.PROVIDER, Role.EMPLOYER, Role.WORKER})

SCOPES = frozenset(
    {"*", "wallets:read", "wallets:write", "payments:write", "provider:*", "provider:read", "webhooks:*"}
)


def normalize_phone(text: str) -> str:
    """E.164 (+393331234567); the number must carry its country code."""
    try:
        number = phonenumbers.parse(text.strip(), None)
    except phonenumbers.NumberParseException as error:
        raise InvalidPhone("write the number with its country code, e.g. +393331234567") from error
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone("that phone number does not exist")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def check_scopes(scopes: list[str]) -> frozenset[str]:
    unknown = sorted(set(scopes) - SCOPES)
    if unknown or not scopes:
        raise UnknownScope(f"unknown scopes: {', '.join(unknown) or '(none given)'}", known=sorted(SCOPES))
    return frozenset(scopes)


def scope_allows(granted: frozenset[str], wanted: str) -> bool:
    """`*` allows everything; `provider:*` allows every `provider:...` scope."""
    if "*" in granted or wanted in granted:
        return True
    area = wanted.split(":", 1)[0]
    return f"{area}:*" in granted


@dataclass(frozen=True, slots=True)
class User:
    id: str
    email: str
    display_name: str
    phone: str | None
    roles: frozenset[Role]
    created_at: int
    language: str = "en"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling, and what they may do."""

    user_id: str
    scopes: frozenset[str]
    via: str  # "session" or "api_key"
    credential_id: str
    roles: frozenset[Role]

    def allows(self, scope: str) -> bool:
        return scope_allows(self.scopes, scope)


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: str
    prefix: str
    name: str
    scopes: frozenset[str]
    created_at: int
    last_used_at: int | None
    revoked_at: int | None


def throttle_delay(failures: int, slow_after: int, lock_after: int, lock_seconds: int) -> int:
    """Seconds a key must wait after `failures` consecutive failures: nothing at first,
    then doubling (1, 2, 4, ... s), then a lock."""
    if failures >= lock_after:
        return lock_seconds
    if failures >= slow_after:
        delay: int = min(2 ** (failures - slow_after), lock_seconds)
        return delay
    return 0
