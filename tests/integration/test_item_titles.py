"""What was bought, by name: a charge the provider named (an article's title) shows that
title — not its path — in the reader's history over the API, on the history page (English
and Italian), in both CSV statements and in SMS HIST (English and Italian); a charge with
no title still shows its path. A hostile title is refused with its code and changes
nothing, or (read off a page by the widget) bounded; shown, it is escaped. On SQLite and
PostgreSQL."""

from __future__ import annotations

import csv
import io
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from obolo.adapters.db.schema import charges, purchases
from obolo.entrypoints.api.app import create_app
from obolo.examples.magazine import PRICE_RULES
from obolo.identity.model import Role
from obolo.money import EUR, Amount
from obolo.paywall.errors import InvalidTitle
from obolo.paywall.model import TITLE_MAX
from obolo.sms import texts
from tests.integration.api_world import cheap_hashing, person
from tests.integration.sms_helpers import ALICE, CARD, Phone, sms_platform
from tests.integration.test_widget_pages import form_of, popup_path
from tests.web_support import Browser, money_snapshot

TITLE = "Why micropayments failed"
SITE = "https://mag.example"
DAILY = "https://daily.example"


@pytest.fixture
def world(db_url, clock):
    platform, _ = sms_platform(db_url, clock)
    cheap_hashing(platform)
    with TestClient(create_app(platform), raise_server_exceptions=False) as client:
        reader = person(client, "reader@example.com", "consumer", top_up="5.00")
        owner = person(client, "mag@example.com", "provider")
        created = client.post("/v1/providers", json={"name": "The Magazine", "origin": SITE}, headers=owner)
        assert created.status_code == 201, created.text
        provider_id = created.json()["id"]
        consent = {"asset": "EUR", "per_item": "0.10", "per_day": "1.00"}
        assert client.put(f"/v1/consents/{provider_id}", json=consent, headers=reader).status_code == 204
        yield client, platform, reader, provider_id
    platform.close()


def _charge(client, reader, provider_id, resource, n, **extra):
    body = {"provider_id": provider_id, "resource": resource, "asset": "EUR", "amount": "0.10",
            "charge_id": f"view-{n}", **extra}  # fmt: skip
    return client.post("/v1/charges", json=body, headers=reader)


def _charge_rows(platform):
    with platform.engine.connect() as connection:
        return connection.execute(select(charges.c.resource, charges.c.title)).all()


def test_a_titled_charge_shows_its_title_in_the_api_history_and_both_statements(world, clock):
    """/v1/transactions' `item` and description, /v1/statements.csv and the page's CSV
    name the article; the untitled charge beside it keeps its path."""
    client, platform, reader, provider_id = world
    assert _charge(client, reader, provider_id, "/articles/1", 1, title=f"  {TITLE} ").status_code == 201
    clock.advance(1)
    assert _charge(client, reader, provider_id, "/articles/2", 2).status_code == 201
    data = client.get("/v1/transactions", headers=reader).json()["data"]
    views = [(e["item"], e["description"]) for e in data if e["status"] == "charged"]
    assert views == [
        ("/articles/2", "The Magazine — /articles/2"),
        (TITLE, f"The Magazine — {TITLE}"),  # trimmed
    ]
    rows = list(csv.DictReader(io.StringIO(client.get("/v1/statements.csv", headers=reader).text)))
    assert [(r["item"], r["description"]) for r in rows if r["status"] == "charged"] == [
        (TITLE, f"The Magazine — {TITLE}"),
        ("/articles/2", "The Magazine — /articles/2"),
    ]
    browser = Browser(platform)
    browser.sign_in("reader@example.com")
    page_csv = browser.get("/wallet/statement.csv?asset=EUR", headers={"accept-language": "it"}).text
    italian = list(csv.DictReader(io.StringIO(page_csv), delimiter=";"))
    assert [r["Descrizione"] for r in italian if r["Stato"] == "addebitato"] == [
        f"The Magazine — {TITLE}",
        "The Magazine — /articles/2",
    ]


def test_the_history_page_names_the_article_in_english_and_italian(world, clock):
    """The history page lists the view by its title; a refund of it too, in Italian."""
    client, platform, reader, provider_id = world
    assert _charge(client, reader, provider_id, "/articles/1", 1, title=TITLE).status_code == 201
    clock.advance(1)
    refund = client.post(
        "/v1/refunds", json={"provider_id": provider_id, "charge_id": "view-1"}, headers=reader
    )
    assert refund.status_code == 201, refund.text
    browser = Browser(platform)
    browser.sign_in("reader@example.com")
    english = browser.get("/wallet/history").text
    assert f"The Magazine — {TITLE}" in english
    assert "/articles/1" not in english
    italian = browser.get("/wallet/history", headers={"accept-language": "it"}).text
    assert f"Rimborsato: The Magazine — {TITLE}" in italian


def test_sms_hist_lists_each_view_by_site_and_title_in_the_persons_language(world, clock):
    """HIST shows the views as they were bought, with the site and the title, newest
    first, in one GSM-7 message; STORICO the same in Italian."""
    client, platform, reader, provider_id = world
    reader_id = client.get("/v1/me", headers=reader).json()["id"]
    phone = Phone(platform, ALICE)
    code, _ = platform.sms.link_code(reader_id)
    assert phone.say(f"JOIN {code}").code == "ok"
    clock.advance(1)
    assert _charge(client, reader, provider_id, "/articles/1", 1, title=TITLE).status_code == 201
    clock.advance(1)
    assert (
        _charge(
            client, reader, provider_id, "/articles/2", 2, title="Hash chains — for “beginners”"
        ).status_code
        == 201
    )
    english = phone.say("HIST").text
    assert english.startswith("Last: "), english
    newest, hold, older = english.removeprefix("Last: ").split("; ")
    # GSM-7 (a plain hyphen and quote), the title cut so the three lines fit one message
    assert '-€0.10 The Magazine: Hash chains - for "' in newest, english
    assert hold.endswith("-€1.00 held Reading The Magazine"), english  # the tab, opened by the first view
    assert older.endswith(f"-€0.10 The Magazine: {TITLE}"), english
    assert texts.fits_one_sms(english), english
    phone.say("LINGUA it")
    italian = phone.say("STORICO").text
    assert italian.startswith("Ultimi: "), italian
    newest, hold, older = italian.removeprefix("Ultimi: ").split("; ")
    assert "-0,10 € The Magazine: Hash chains" in newest, italian
    assert hold.endswith("-1,00 € riservati Lettura The Magazine"), italian
    assert "-0,10 € The Magazine: Why micropayments" in older, italian  # longer words: titles cut
    assert texts.fits_one_sms(italian), italian


def test_sms_hist_cuts_long_titles_to_fit_one_message(world, clock):
    """Three views with titles of 200 characters: HIST still fits one GSM-7 message, each
    line keeping its site and the start of its title."""
    client, platform, reader, provider_id = world
    reader_id = client.get("/v1/me", headers=reader).json()["id"]
    phone = Phone(platform, ALICE)
    code, _ = platform.sms.link_code(reader_id)
    assert phone.say(f"JOIN {code}").code == "ok"
    for n in range(4):  # the first opens the tab: its hold is as new as it
        clock.advance(1)
        title = f"Article {n} " + "ò" * (TITLE_MAX - 10)
        assert _charge(client, reader, provider_id, f"/articles/{n}", n, title=title).status_code == 201
    text = phone.say("HIST").text
    assert texts.fits_one_sms(text), text
    assert [line.split("The Magazine: ")[1][:9] for line in text.removeprefix("Last: ").split("; ")] == [
        "Article 3", "Article 2", "Article 1",
    ]  # fmt: skip
    assert text.count("..") == 3


@pytest.mark.parametrize(
    ("title", "reason"),
    [
        ("x" * 10_000, "string_too_long"),
        ("A\x00title", "unsafe_text"),
        ("Reversed\u202eeltit", "unsafe_text"),
    ],
)
def test_a_hostile_title_is_refused_by_the_api_and_charges_nothing(world, title, reason):
    """10k characters, a NUL, a bidi override: 422 validation_error naming `title`; no
    charge is kept and no money moves."""
    client, platform, reader, provider_id = world
    before = money_snapshot(platform)
    answer = _charge(client, reader, provider_id, "/articles/1", 1, title=title)
    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == "validation_error"
    assert any(e["loc"][-1] == "title" and e["type"] == reason for e in answer.json()["errors"]), answer.text
    assert money_snapshot(platform) == before
    assert _charge_rows(platform) == []


@pytest.mark.parametrize("title", ["x" * (TITLE_MAX + 1), "A\x07title", "A\u2066title"])
def test_the_service_refuses_a_hostile_title_with_its_code_and_changes_nothing(world, title):
    """The rule holds below the API too: invalid_title, nothing charged, nothing held."""
    client, platform, reader, provider_id = world
    reader_id = client.get("/v1/me", headers=reader).json()["id"]
    before = money_snapshot(platform)
    with pytest.raises(InvalidTitle) as refused:
        platform.tabs.charge(
            reader_id, provider_id, "/articles/1", Amount.parse("0.10", EUR), "c1", title=title
        )
    assert refused.value.code == "invalid_title"
    assert money_snapshot(platform) == before
    assert _charge_rows(platform) == []


def test_a_title_holding_html_or_a_formula_is_shown_as_text(world, clock):
    """Markup in a title is escaped on the pages; a title starting like a formula cannot
    run in a spreadsheet opening the statement."""
    client, platform, reader, provider_id = world
    markup = '<script>alert("x")</script><b>Bold</b>'
    assert _charge(client, reader, provider_id, "/articles/1", 1, title=markup).status_code == 201
    clock.advance(1)
    formula = '=HYPERLINK("https://evil.example","Click")'
    assert _charge(client, reader, provider_id, "/articles/2", 2, title=formula).status_code == 201
    browser = Browser(platform)
    browser.sign_in("reader@example.com")
    page = browser.get("/wallet/history").text
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;b&gt;Bold&lt;/b&gt;" in page
    reading = browser.get("/reading").text
    assert "<script>alert" not in reading
    rows = list(csv.DictReader(io.StringIO(client.get("/v1/statements.csv", headers=reader).text)))
    assert [r["item"] for r in rows if r["status"] == "charged"] == [markup, "'" + formula]
    page_csv = list(csv.DictReader(io.StringIO(browser.get("/wallet/statement.csv?asset=EUR").text)))
    assert [r["Description"] for r in page_csv if r["Status"] == "charged"] == [
        f"The Magazine — {markup}", f"The Magazine — {formula}",  # the cell starts with the site's name
    ]  # fmt: skip


# -- the widget: the page names what it sells --------------------------------------------------


@pytest.fixture
def magazine_reader(world):
    """A signed-in reader with 5.00 in the wallet, and a site selling articles by the widget."""
    _, platform, _, _ = world
    owner = platform.identity.sign_up("owner@example.com", "owner password 1", "Owner").id
    platform.identity.add_role(owner, Role.PROVIDER)
    provider = platform.paywall.register_provider(owner, "The Daily", DAILY)
    platform.paywall.set_price_rules(owner, provider.id, PRICE_RULES)
    browser = Browser(platform)
    reader = browser.sign_up("widget-reader@example.com")
    platform.wallets.top_up(reader, Amount.parse("5.00", EUR), CARD)
    return browser, platform, provider.id, reader


def test_the_widget_keeps_the_pages_title_and_the_reading_page_shows_it(magazine_reader):
    """The popup names the article; confirmed, the charge keeps its title, which the
    history and the reading page's recent views show instead of the path."""
    browser, platform, provider_id, _ = magazine_reader
    path = popup_path(provider_id, origin=DAILY) + "&" + urlencode({"title": TITLE})
    assert f"<strong>{TITLE}</strong>" in browser.get(path).text
    fields = form_of(browser, path)
    answer = browser.client.post("/widget/pay", data={**fields, "confirm": "yes"})
    assert answer.status_code == 200, answer.text
    assert _charge_rows(platform) == [("/articles/1", TITLE)]
    assert f"The Daily — {TITLE}" in browser.get("/wallet/history").text
    reading = browser.get("/reading").text
    assert f"<span data-item-title>{TITLE}</span>" in reading
    assert f"Refund €0.10 for {TITLE}" in reading


def test_the_widget_refuses_control_characters_and_bounds_a_long_title(magazine_reader):
    """A title with a control character: refused (validation_error), nothing charged, no
    money moved. 10,000 characters read off a page: one line of at most 200 characters
    kept, the payment made."""
    browser, platform, provider_id, _ = magazine_reader
    fields = form_of(browser, popup_path(provider_id, origin=DAILY))
    before = money_snapshot(platform)
    refused = browser.client.post("/widget/pay", data={**fields, "confirm": "yes", "title": "A\x07title"})
    assert refused.status_code == 422
    assert refused.json()["code"] == "validation_error"
    assert money_snapshot(platform) == before
    assert _charge_rows(platform) == []
    fields["title"] = "Long    title " + "y" * 10_000
    answer = browser.client.post("/widget/pay", data={**fields, "confirm": "yes"})
    assert answer.status_code == 200, answer.text
    ((resource, title),) = _charge_rows(platform)
    assert resource == "/articles/1"
    assert title.startswith("Long title yyy")
    assert len(title) == TITLE_MAX
    assert title.endswith("…")


def test_a_pass_visit_keeps_the_title_as_a_purchase(magazine_reader):
    """A visit of a pass is remembered with the page's title."""
    _, platform, provider_id, reader = magazine_reader
    platform.purchases.buy_pass(reader, provider_id, "10 articles", "pass-1")
    offer = platform.widget.offer(provider_id, "/articles/3", "0.10", "EUR", DAILY, TITLE)
    payment = platform.widget.pay(reader, offer, "c-pass", confirmed=False)
    assert payment is not None
    assert payment.kind == "pass"
    with platform.engine.connect() as connection:
        kept = connection.execute(select(purchases.c.resource, purchases.c.title)).all()
    assert kept == [("/articles/3", TITLE)]
