"""What the pages call things the platform knows by a code: each code's label, in English
(the catalogue translates it). A page shows the label, never the code."""

from __future__ import annotations

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
