"""What the pages call things the platform knows by a code: each code's label, in English
(the catalogue translates it). A page shows the label, never the code."""

from __future__ import annotations

from collections.abc import Callable

from obolo.account.devices import DeviceKind, describe_device

#: The platform's own ledger accounts (obolo.wallets.model.PlatformAccount), by purpose.
PLATFORM_ACCOUNTS = {
    "card_funding": "Card top-ups received",
    "bank_payouts": "Paid out to banks",
    "fee_revenue": "Fee revenue",
    "rounding": "Rounding",
    "adjustments": "Operator adjustments",
    "invitations": "Waiting for recipients",
}
#: People's roles (obolo.identity.model.Role).
ROLES = {
    "consumer": "Reader",
    "provider": "Provider",
    "operator": "Operator",
    "employer": "Employer",
    "worker": "Worker",
}


def label(table: dict[str, str], code: str) -> str:
    """The English label of `code`; an unknown code in words rather than with underscores."""
    return table.get(code, code.replace("_", " ").capitalize())


def device(t: Callable[..., str], user_agent: str | None) -> str:
    """What a session was opened with, in the page's language: "Chrome on Android", "API
    client (httpx)", "Unknown device"; never a fragment such as "httpx on ?"."""
    found = describe_device(user_agent)
    if found.kind is DeviceKind.PROGRAM:
        return t("API client ({name})", name=found.name)
    if found.kind is DeviceKind.BROWSER:
        if found.name and found.system:
            return t("{browser} on {system}", browser=found.name, system=found.system)
        return found.name or t("A browser on {system}", system=found.system)
    return t("Unknown device")
