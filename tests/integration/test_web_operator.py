"""The operator console: operators only (403 for everyone else), the books check, exact
platform totals and fee revenue, search with wildcards taken literally, deliveries."""

from __future__ import annotations

import re

import pytest

from obolo.identity.model import Role
from obolo.settings import FeeRule, Settings
from tests.web_support import Browser, make_platform, top_up_form

FEES = {"payment": FeeRule(basis_points=100), "topup": FeeRule(), "withdrawal": FeeRule()}


@pytest.fixture
def platform(db_url, clock):
    yield from make_platform(db_url, clock, Settings(fees=FEES))


@pytest.fixture
def operator(platform):
    browser = Browser(platform)
    browser.user_id = browser.sign_up("op@example.com", "Olga")
    platform.identity.grant_role("op@example.com", Role.OPERATOR)
    return browser


@pytest.mark.parametrize("role", [None, Role.PROVIDER, Role.EMPLOYER, Role.WORKER])
def test_the_console_is_refused_to_everyone_but_operators(platform, role):
    """Consumers, providers and others get 403 and see no figures."""
    someone = Browser(platform)
    user_id = someone.sign_up("someone@example.com")
    if role:
        platform.identity.add_role(user_id, role)
    top_up_form(someone, "10.00")
    answer = someone.get("/operator?q=someone")
    assert answer.status_code == 403
    assert "This page is for operators only." in answer.text
    assert "someone@example.com" not in answer.text
    assert "Operator" not in re.findall(r"<nav.*?</nav>", answer.text, re.S)[0]


def test_the_console_shows_books_totals_and_fee_revenue_exactly(operator, platform):
    """After top-ups and a payment with a 1% fee, the console shows what the ledger holds."""
    ann = Browser(platform)
    ann.sign_up("ann@example.com")
    bob = Browser(platform)
    bob.sign_up("bob@example.com")
    top_up_form(ann, "10.00")
    top_up_form(bob, "2.50")
    ann.submit("/wallet", "/wallet/send", {"to": "bob@example.com", "amount": "1.23", "asset": "EUR"})
    page = operator.get("/operator")
    assert page.status_code == 200
    assert 'data-books="ok"' in page.text
    assert re.findall(r'data-fee-asset="EUR">([^<]+)<', page.text) == ["€0.0123"]
    # Wallets hold 12.50 less the fee: money is neither made nor lost.
    assert "wallets hold €12.4877" in page.text
    card = re.search(r"<td>EUR</td><td>Card top-ups received</td>(.*?)</tr>", page.text).group(1)
    assert re.findall(r'class="num">([^<]+)<', card) == ["€12.50", "€0.00", "€0.00", "-€12.50"]


def test_search_finds_people_and_providers_and_treats_wildcards_literally(operator, platform):
    """Search by email or site; % and _ match themselves, not everything."""
    pub = Browser(platform)
    pub_id = pub.sign_up("publisher@example.com", "Pia")
    platform.identity.add_role(pub_id, Role.PROVIDER)
    platform.paywall.register_provider(pub_id, "Daily News", "https://news.example")
    page = operator.get("/operator?q=publisher")
    assert "publisher@example.com" in page.text
    assert "Reader, Provider" in page.text  # the roles' labels, not their codes
    assert "Daily News" in operator.get("/operator?q=news.example").text
    everyone = operator.get("/operator?q=%25")
    assert "publisher@example.com" not in everyone.text
    assert "Nobody found." in everyone.text


def test_webhook_deliveries_are_listed_with_their_status(operator, platform):
    """Deliveries to endpoints appear with status and attempts, filterable by status."""
    user_id = operator.user_id
    platform.webhooks.create_endpoint(user_id, "https://hooks.example/obolo", ["topup.succeeded"])
    top_up_form(operator, "5.00")
    page = operator.get("/operator")
    assert "https://hooks.example/obolo" in page.text
    assert '<span class="tag pending">pending</span>' in page.text
    assert "https://hooks.example/obolo" not in operator.get("/operator?deliveries=delivered").text


def test_the_console_lists_jobs_with_their_last_error(operator, platform):
    """A job that failed shows as failed with its error's first line; one that ran shows ok."""
    from obolo.jobs.model import Job
    from obolo.jobs.service import JobRunner

    def broken() -> int:
        raise RuntimeError("the bank did not answer")

    JobRunner(
        platform.engine, platform.clock, [Job("payouts", 60, broken), Job("tabs_settle", 60, lambda: 2)]
    ).run_due()
    page = operator.get("/operator").text
    jobs = re.search(r'aria-labelledby="jobs-title">(.*?)</section>', page, re.S).group(1)
    assert "<code>payouts</code>" in jobs
    assert "RuntimeError: the bank did not answer" in jobs
    assert re.search(r"<code>tabs_settle</code></td><td><span class=\"tag delivered\">ok</span>", jobs)
