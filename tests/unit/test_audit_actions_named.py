"""Every action the code writes to the audit trail has a name on the operator's person page,
in English and Italian: the page never shows a code such as "checkout.pay"."""

from __future__ import annotations

import ast
from pathlib import Path

from obolo.checkout.model import Release
from obolo.entrypoints.web.account_i18n import AUDIT_ACTIONS
from obolo.entrypoints.web.i18n import IT

SRC = Path(__file__).resolve().parents[2] / "src" / "obolo"
#: Actions written from a template, each with every value it takes.
TEMPLATED = {
    "checkout.{how}": {f"checkout.{how}" for how in Release},
    "{kind}.changed": {"email.changed", "phone.changed"},
    "sms.undo_{decision}": {"sms.undo_reversed", "sms.undo_declined"},
}


def recorded_actions() -> set[str]:
    """The action (4th argument) of each `record(...)` / `audit(...)` / `audit.record(...)` call."""
    found: set[str] = set()
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or len(node.args) < 4:
                continue
            called = node.func
            name = called.attr if isinstance(called, ast.Attribute) else getattr(called, "id", "")
            if name not in ("record", "audit"):
                continue
            action = node.args[3]
            if isinstance(action, ast.Constant) and isinstance(action.value, str):
                found.add(action.value)
            elif isinstance(action, ast.JoinedStr):
                pattern = "".join(
                    part.value if isinstance(part, ast.Constant) else "{" + ast.unparse(part.value) + "}"
                    for part in action.values
                )
                assert pattern in TEMPLATED, f"{path}:{node.lineno}: say which actions {pattern!r} makes"
                found |= TEMPLATED[pattern]
    return found


def test_every_audited_action_has_a_name_in_english_and_italian():
    actions = recorded_actions()
    assert {"session.created", "checkout.pay", "ledger.adjusted"} <= actions  # the scan finds them
    assert sorted(actions - set(AUDIT_ACTIONS)) == []
    assert sorted(name for name in AUDIT_ACTIONS.values() if name not in IT) == []
