"""Secrets are compared in constant time: no `==` or `!=` in src/ has a secret on either
side, except lookups of keyed or plain hashes of high-entropy secrets in SQL (the database
compares digests, which tell a timer nothing about the secret)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "obolo"
SECRET = re.compile(
    r"secret|token|signature|mac\b|_mac|digest|_hash|password|preimage|pin\b|authorization", re.I
)
# Names that sound secret but are not, each with why.
NOT_SECRETS = {
    "request_hash": "a fingerprint of a request body, to refuse an idempotency key reused for another",
    "prev_hash": "the audit chain's links are public integrity values",
    "last_hash": "the audit chain's links are public integrity values",
    "chain_hash": "the audit chain's links are public integrity values",
}
# Comparisons that hold a secret-sounding name but compare no secret, each with why.
NOT_SECRET_COMPARISONS = {
    ("identity/model.py", "password.lower() == email.lower()"): "a weak-password rule, not a check",
    # A session's id is a prefix of its token's digest, shown to its owner: public, not a secret.
    ("account/service.py", "func.substr(sessions.c.token_hash, 1, 12) != keep"): "a session id (SQL)",
    ("account/service.py", "func.substr(sessions.c.token_hash, 1, 32) == wanted"): "a session id (SQL)",
    ("account/service.py", "r.token_hash[:12] == current"): "the asking session's id, shown to its owner",
}


def _names(node: ast.AST):
    for child in ast.walk(node):
        if isinstance(child, ast.Name):
            yield child.id
        elif isinstance(child, ast.Attribute):
            yield child.attr
        elif isinstance(child, ast.Constant) and isinstance(child.value, str):
            yield child.value


def _is_sql_column(node: ast.AST) -> bool:
    """`table.c.column`: the comparison is a WHERE clause run by the database."""
    return (
        isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute) and node.value.attr == "c"
    )


def secret_comparisons() -> list[str]:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Compare):
                continue
            if not any(isinstance(op, ast.Eq | ast.NotEq) for op in node.ops):
                continue
            operands = [node.left, *node.comparators]
            if any(_is_sql_column(o) for o in operands):
                continue
            if any(isinstance(o, ast.Constant) for o in operands):
                continue  # against a literal: a kind or a flag, not a secret
            names = [name for o in operands for name in _names(o) if name not in NOT_SECRETS]
            if not any(SECRET.search(name) for name in names):
                continue
            where = str(path.relative_to(SRC))
            if (where, ast.unparse(node)) in NOT_SECRET_COMPARISONS:
                continue
            found.append(f"{where}:{node.lineno}: {ast.unparse(node)}")
    return found


def test_no_secret_is_compared_with_equality():
    """Every comparison of a token, signature, MAC or digest goes through
    hmac.compare_digest (or is a hash lookup in SQL)."""
    assert secret_comparisons() == []


def test_the_scan_catches_a_plain_comparison(tmp_path, monkeypatch):
    """The guard itself: a `!=` on a bearer token (the bug /metrics had) is reported."""
    package = tmp_path / "obolo"
    package.mkdir()
    (package / "leaky.py").write_text(
        "def ok(request, token):\n    return request.headers.get('authorization') != f'Bearer {token}'\n"
    )
    monkeypatch.setitem(globals(), "SRC", package)
    assert [line.split(":")[0] for line in secret_comparisons()] == ["leaky.py"]
