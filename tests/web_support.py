"""Helpers for the page tests: a browser-like TestClient per person (its own cookies),
forms posted with the CSRF token the page gave, and money snapshots."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from obolo.bootstrap import Platform, build
from obolo.entrypoints.api.app import create_app
from obolo.ledger.check import check_ledger
from obolo.settings import Settings

PASSWORD = "a long enough password"
CARD = {"number": "4242 4242 4242 4242", "exp_month": "12", "exp_year": "2031", "cvc": "123"}
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def make_platform(db_url, clock, settings: Settings | None = None, **fakes: Any) -> Iterator[Platform]:
    """A platform on the test database (`fakes`: adapters for `build`, e.g. a gateway); the
    books must balance when the test ends."""
    built = build(settings or Settings(), url=db_url, clock=clock, migrate=True, **fakes)
    # Cheap password hashing: these tests are about pages, and each signs several people up.
    built.identity.hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield built
    assert check_ledger(built.engine) == []
    built.close()


class Browser:
    """One person's browser: cookies kept between requests, redirects not followed."""

    def __init__(self, platform: Platform) -> None:
        self.client = TestClient(create_app(platform), raise_server_exceptions=True, follow_redirects=False)
        self.platform = platform

    def get(self, path: str, **kwargs):
        return self.client.get(path, **kwargs)

    def csrf(self, path: str = "/signin") -> str:
        page = self.client.get(path)
        found = _CSRF.search(page.text)
        assert found, f"no CSRF token on {path}"
        return found.group(1)

    def submit(self, page_path: str, action: str, data: dict[str, str], **kwargs):
        """Post a form the way a browser does: the token from the page it is on."""
        return self.client.post(action, data={"csrf": self.csrf(page_path), **data}, **kwargs)

    def sign_up(self, email: str, name: str | None = None, phone: str = "") -> str:
        answer = self.submit(
            "/signup",
            "/signup",
            {
                "email": email,
                "password": PASSWORD,
                "display_name": name or email.split("@")[0],
                "phone": phone,
            },
        )
        assert answer.status_code == 303, answer.text
        # Sign-up answers alike for a new and a taken address, so it signs nobody in.
        assert answer.headers["location"] == "/signin?new=1"
        self.sign_in(email)
        return self.platform.identity.authenticate(self.client.cookies["obolo_session"]).user_id

    def sign_in(self, email: str) -> None:
        answer = self.submit("/signin", "/signin", {"email": email, "password": PASSWORD})
        assert answer.status_code == 303, answer.text


def money_snapshot(platform: Platform) -> list[tuple]:
    """Every ledger account's four totals: equal snapshots mean no money moved."""
    with platform.engine.connect() as connection:
        return [
            tuple(row)
            for row in connection.exec_driver_sql(
                "SELECT id, debits_posted, credits_posted, debits_pending, credits_pending "
                "FROM ledger_accounts ORDER BY id"
            )
        ]


def errors_on(html: str) -> list[str]:
    return re.findall(r'<p class="error" id="f-([a-z_]+)-error">', html)


def top_up_form(browser: Browser, amount: str = "10.00", **extra: str):
    return browser.submit("/wallet", "/wallet/topup", {**CARD, "amount": amount, "asset": "EUR", **extra})


def iban(country: str, bban: str) -> str:
    """A valid IBAN for `bban` (check digits computed), for the sandbox bank's cases."""
    digits = "".join(str(int(ch, 36)) for ch in bban + country + "00")
    return f"{country}{98 - int(digits) % 97:02d}{bban}"
