"""The wallet pages: balances, top-up, send, withdraw, history, CSV, spending chart —
exact amounts through the forms, refusals beside the field with nothing moved, CSRF,
and nobody else's money on the page."""

from __future__ import annotations

import csv
import io
import re
import uuid

import pytest

from obolo.identity.model import Role
from obolo.mail.outbox import deliver_emails
from obolo.money import EUR, Amount
from obolo.wallets.model import PlatformAccount
from tests.fakes import FakeEmailGateway
from tests.web_support import (
    CARD,
    Browser,
    errors_on,
    iban,
    make_platform,
    money_snapshot,
    top_up_form,
)


@pytest.fixture
def platform(db_url, clock):
    yield from make_platform(db_url, clock)


@pytest.fixture
def ann(platform):
    browser = Browser(platform)
    browser.user_id = browser.sign_up("ann@example.com", "Ann", "+393331234567")
    return browser


@pytest.fixture
def bob(platform):
    browser = Browser(platform)
    browser.user_id = browser.sign_up("bob@example.com", "Bob")
    return browser


def available(platform, user_id) -> int:
    return {b.asset: b.available for b in platform.wallets.balances(user_id)}.get("EUR", 0)


def test_the_wallet_shows_the_balance_of_the_person_signed_in_only(ann, bob, platform):
    """Each person's wallet page shows their own balance, never someone else's."""
    assert top_up_form(ann, "12.34").status_code == 303
    assert top_up_form(bob, "5.00").status_code == 303
    page = ann.get("/wallet")
    assert page.status_code == 200
    assert re.findall(r'data-asset="EUR">([^<]+)<', page.text) == ["€12.34"]
    assert "€5.00" not in page.text
    assert re.findall(r'data-asset="EUR">([^<]+)<', bob.get("/wallet").text) == ["€5.00"]


def test_a_top_up_through_the_form_moves_exactly_the_amount(ann, platform):
    """10,50 typed in the form credits exactly 10.500000 EUR, from card funding."""
    funding = PlatformAccount.CARD_FUNDING.account_id("EUR")
    answer = top_up_form(ann, "10,50")
    assert answer.status_code == 303
    assert available(platform, ann.user_id) == 10_500_000
    (account,) = platform.ledger.lookup_accounts([funding])
    assert account.debits_posted == 10_500_000
    notice = ann.get(answer.headers["location"])
    assert "Topped up €10.50." in notice.text


def test_the_same_form_sent_twice_tops_up_once(ann, platform):
    """A double submit (same form key) charges the card and credits the wallet once."""
    key = str(uuid.uuid4())
    assert top_up_form(ann, "3.00", key=key).status_code == 303
    assert top_up_form(ann, "3.00", key=key).status_code == 303
    assert available(platform, ann.user_id) == 3_000_000


def test_sending_through_the_form_moves_exactly_a_tenth_of_a_cent(ann, bob, platform):
    """0,001 sent to an email leaves the sender and reaches the recipient to the unit."""
    top_up_form(ann, "1.00")
    answer = ann.submit(
        "/wallet", "/wallet/send", {"to": "bob@example.com", "amount": "0,001", "asset": "EUR"}
    )
    assert answer.status_code == 303
    assert available(platform, ann.user_id) == 999_000
    assert available(platform, bob.user_id) == 1_000
    assert "Sent €0.001." in ann.get(answer.headers["location"]).text


def test_sending_to_an_address_with_or_without_an_account_looks_the_same(ann, bob, platform):
    """The form's answer and the notice after it are the same whether the email has an
    account or not (money to one without is held for them): the page tells nobody who has one."""
    top_up_form(ann, "2.00")
    pages = []
    for to in ("bob@example.com", "nobody@example.com"):
        answer = ann.submit("/wallet", "/wallet/send", {"to": to, "amount": "0.50", "asset": "EUR"})
        assert answer.status_code == 303
        page = ann.get(answer.headers["location"])
        assert page.status_code == 200
        pages.append(re.findall(r'role="status"[^>]*>([^<]*)<', page.text))
    assert pages[0] == pages[1] == ["Sent €0.50."]
    assert available(platform, ann.user_id) == 1_000_000
    assert available(platform, bob.user_id) == 500_000


def test_money_sent_before_joining_is_claimed_on_the_wallet_page_with_the_mailed_code(ann, platform):
    """An address paid before it had an account: after sign-up, the code mailed to it moves
    the money into the wallet from the wallet page; a wrong code is refused beside the field
    and moves nothing."""
    platform.email_gateway = FakeEmailGateway()
    top_up_form(ann, "2.00")
    ann.submit("/wallet", "/wallet/send", {"to": "carol@example.com", "amount": "0.75", "asset": "EUR"})
    deliver_emails(platform.engine, platform.email_gateway, platform.clock)
    (mail,) = [body for _subject, body in platform.email_gateway.to("carol@example.com")]
    code = re.search(r"\b([A-Z0-9]{4}(?:-[A-Z0-9]{4}){3})\b", mail).group(1)
    carol = Browser(platform)
    carol.user_id = carol.sign_up("carol@example.com", "Carol")
    before = money_snapshot(platform)
    wrong = carol.submit("/wallet", "/wallet/claim", {"code": "AAAA-BBBB-CCCC-DDDD"})
    assert wrong.status_code == 422
    assert errors_on(wrong.text) == ["code"]
    assert money_snapshot(platform) == before
    claimed = carol.submit("/wallet", "/wallet/claim", {"code": code})
    assert claimed.status_code == 303
    assert "Money waiting for you is in your wallet." in carol.get(claimed.headers["location"]).text
    assert available(platform, carol.user_id) == 750_000


def test_sending_to_a_phone_number_reaches_its_owner(ann, bob, platform):
    """The recipient may be given by phone number."""
    top_up_form(bob, "2.00")
    answer = bob.submit(
        "/wallet", "/wallet/send", {"to": "+39 333 123 4567", "amount": "0.50", "asset": "EUR"}
    )
    assert answer.status_code == 303
    assert available(platform, ann.user_id) == 500_000


@pytest.mark.parametrize(
    ("action", "values", "field"),
    [
        ("/wallet/send", {"to": "bob@example.com", "amount": "50.00"}, "amount"),  # more than held
        ("/wallet/send", {"to": "nobody at example", "amount": "1.00"}, "to"),  # neither email nor phone
        ("/wallet/send", {"to": "ann@example.com", "amount": "1.00"}, "to"),  # oneself
        ("/wallet/send", {"to": "", "amount": "1.00"}, "to"),
        ("/wallet/send", {"to": "bob@example.com", "amount": "1.0000001"}, "amount"),
        ("/wallet/send", {"to": "bob@example.com", "amount": "1.000,00"}, "amount"),
        ("/wallet/send", {"to": "bob@example.com", "amount": "-1"}, "amount"),
        ("/wallet/send", {"to": "bob@example.com", "amount": "0"}, "amount"),
        ("/wallet/topup", {**CARD, "amount": "0.50"}, "amount"),  # under the minimum
        ("/wallet/topup", {**CARD, "number": "4000 0000 0000 0002", "amount": "5"}, "number"),  # declined
        ("/wallet/topup", {**CARD, "number": "1234 5678 9012 3456", "amount": "5"}, "number"),
        ("/wallet/withdraw", {"amount": "50.00", "iban": "DE89 3704 0044 0532 0130 00"}, "amount"),
        ("/wallet/withdraw", {"amount": "1.00", "iban": "DE00 1234"}, "iban"),
    ],
)
def test_a_refused_form_shows_the_error_beside_its_field_and_moves_nothing(
    ann, bob, platform, action, values, field
):
    """Every refusal is shown next to the field concerned, with the books unchanged."""
    top_up_form(ann, "10.00")
    before = money_snapshot(platform)
    answer = ann.submit("/wallet", action, {"asset": "EUR", **values})
    assert answer.status_code == 422
    assert errors_on(answer.text) == [field]
    assert money_snapshot(platform) == before
    assert available(platform, ann.user_id) == 10_000_000


def test_a_withdrawal_the_bank_refuses_comes_back_to_the_wallet(ann, platform):
    """A payout to a closed account fails and the held money returns, exactly."""
    top_up_form(ann, "10.00")
    answer = ann.submit(
        "/wallet",
        "/wallet/withdraw",
        {"amount": "4.00", "asset": "EUR", "iban": iban("DE", "370400440532010002")},
    )
    assert answer.status_code == 303
    assert "the money is back in your wallet" in ann.get(answer.headers["location"]).text
    assert available(platform, ann.user_id) == 10_000_000
    paid = ann.submit(
        "/wallet",
        "/wallet/withdraw",
        {"amount": "4.00", "asset": "EUR", "iban": "DE89 3704 0044 0532 0130 00"},
    )
    assert "Withdrawal of €4.00 paid." in ann.get(paid.headers["location"]).text
    assert available(platform, ann.user_id) == 6_000_000


@pytest.mark.parametrize("token", [None, "forged", "other-session"])
def test_money_forms_without_the_right_csrf_token_are_refused_and_move_nothing(ann, bob, platform, token):
    """A top-up or payment posted without, or with a wrong or someone else's, token is 403."""
    top_up_form(ann, "10.00")
    before = money_snapshot(platform)
    ann.get("/wallet")
    data = {"to": "bob@example.com", "amount": "1.00", "asset": "EUR"}
    if token == "forged":
        data["csrf"] = "A" * 43
    elif token == "other-session":
        data["csrf"] = bob.csrf("/wallet")
    assert ann.client.post("/wallet/send", data=data).status_code == 403
    assert (
        ann.client.post(
            "/wallet/topup",
            data={
                **CARD,
                "amount": "5",
                "asset": "EUR",
                **({"csrf": data["csrf"]} if "csrf" in data else {}),
            },
        ).status_code
        == 403
    )
    assert money_snapshot(platform) == before


def test_a_result_notice_never_shows_someone_elses_movement(ann, bob, platform):
    """The notice after a form is read back from the movement, and only if it is yours."""
    answer = top_up_form(bob, "7.00")
    assert bob.get(answer.headers["location"]).text.count("Topped up €7.00.") == 1
    assert "Topped up" not in ann.get(answer.headers["location"]).text


def test_history_lists_own_movements_with_filters(ann, bob, platform):
    """History shows the person's movements, filtered by kind and direction, not others'."""
    top_up_form(ann, "10.00")
    top_up_form(bob, "9.00")
    ann.submit(
        "/wallet",
        "/wallet/send",
        {"to": "bob@example.com", "amount": "1.25", "asset": "EUR", "note": "lunch"},
    )
    bob.submit("/wallet", "/wallet/send", {"to": "ann@example.com", "amount": "0.75", "asset": "EUR"})
    amounts = lambda page: re.findall(r'data-amount="(\d+)"', page.text)  # noqa: E731
    assert amounts(ann.get("/wallet/history")) == ["750000", "1250000", "10000000"]
    assert amounts(ann.get("/wallet/history?kind=payment&direction=out")) == ["1250000"]
    assert amounts(ann.get("/wallet/history?kind=topup")) == ["10000000"]
    assert amounts(ann.get("/wallet/history?direction=in&kind=payment")) == ["750000"]
    assert "9.00" not in ann.get("/wallet/history").text
    refused = ann.get("/wallet/history?from=yesterday")
    assert refused.status_code == 422
    assert errors_on(refused.text) == ["from"]


def test_the_csv_statement_is_the_apis_rows_written_for_a_person(ann, platform):
    """The browser's CSV has the rows of GET /v1/statements.csv, to the unit, with dates and
    amounts written for the page's language (Italian: decimal comma, semicolons)."""
    top_up_form(ann, "10.00")
    ann.submit(
        "/wallet", "/wallet/send", {"to": "+393331234567", "amount": "1", "asset": "EUR"}
    )  # refused: oneself
    token = ann.client.cookies["obolo_session"]
    api_csv = ann.client.get("/v1/statements.csv?asset=EUR", headers={"Authorization": f"Bearer {token}"})
    api_rows = list(csv.DictReader(io.StringIO(api_csv.text)))
    assert [(r["kind"], r["status"], r["amount"], r["balance"]) for r in api_rows] == [
        ("topup", "posted", "10.000000", "10.000000")
    ]
    page_csv = ann.get("/wallet/statement.csv?asset=EUR")
    assert page_csv.status_code == 200
    assert page_csv.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(page_csv.text)))
    assert [(r["Kind"], r["Status"], r["Amount"], r["Balance"]) for r in rows] == [
        ("Top-up", "posted", "10.00", "10.00")
    ]
    italian = ann.get("/wallet/statement.csv?asset=EUR", headers={"accept-language": "it"})
    rows = list(csv.DictReader(io.StringIO(italian.text), delimiter=";"))
    assert [(r["Tipo"], r["Stato"], r["Importo"], r["Saldo"]) for r in rows] == [
        ("Ricarica", "registrato", "10,00", "10,00")
    ]


def test_private_pages_need_a_session(platform):
    """Wallet, history and CSV redirect an anonymous browser to sign in; nothing leaks."""
    anonymous = Browser(platform)
    for path in ("/wallet", "/wallet/history", "/wallet/statement.csv", "/reading", "/provider", "/operator"):
        answer = anonymous.get(path)
        assert answer.status_code == 303, path
        assert answer.headers["location"].startswith("/signin?next=")
    before = money_snapshot(platform)
    refused = anonymous.client.post("/wallet/topup", data={**CARD, "amount": "5", "asset": "EUR"})
    assert refused.status_code == 303
    assert money_snapshot(platform) == before


def test_the_spending_chart_shows_last_month_by_provider(ann, platform):
    """Charged views appear in the 30-day chart by provider, with exact totals."""
    owner = Browser(platform)
    owner_id = owner.sign_up("pub@example.com")
    platform.identity.add_role(owner_id, Role.PROVIDER)
    site = platform.paywall.register_provider(owner_id, "Daily News", "https://news.example")
    top_up_form(ann, "10.00")
    platform.tabs.set_consent(ann.user_id, site.id, Amount(200_000, EUR), Amount(2_000_000, EUR))
    platform.tabs.charge(ann.user_id, site.id, "/a/1", Amount(100_000, EUR), "v1")
    platform.tabs.charge(ann.user_id, site.id, "/a/2", Amount(50_000, EUR), "v2")
    page = ann.get("/wallet")
    assert '<svg viewBox="0 0 640 220" role="img"' in page.text
    assert "Daily News: €0.15" in page.text
    assert "Daily News" not in owner.get("/wallet").text


def test_an_italian_wallet_writes_amounts_the_italian_way(ann, platform):
    """In Italian the balance reads 10,50 € and the labels are Italian."""
    top_up_form(ann, "10.50")
    page = ann.get("/wallet", headers={"accept-language": "it"})
    assert re.findall(r'data-asset="EUR">([^<]+)<', page.text) == ["10,50\u00a0€"]
    assert "Ricarica" in page.text


def test_the_top_up_forms_amount_is_in_the_pages_decimal_mark_and_reads_back(ann, platform):
    """The suggested 10 EUR is "10.00" in English and "10,00" in Italian; sent back as shown,
    the Italian one tops up exactly 10 EUR."""
    assert re.search(r'name="amount"[^>]*value="10\.00"', ann.get("/wallet").text)
    italian = ann.get("/wallet", headers={"accept-language": "it"}).text
    shown = re.search(r'name="amount"[^>]*value="([^"]*)"', italian).group(1)
    assert shown == "10,00"
    assert top_up_form(ann, shown).status_code == 303
    assert platform.wallets.balances(ann.user_id)[0].available == 10_000_000
