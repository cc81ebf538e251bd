"""A complete Italian: every page of the web app, walked as each kind of person in a
populated world (reader, provider, employer, worker, operator, a stranger), and every page
error, read in Italian without an English sentence, a raw code or an amount not written
the Italian way. Page errors are pages (never problem+json), and refusals say what is wrong
with the amounts formatted, changing nothing."""

from __future__ import annotations

import csv
import io
import re
import uuid
from functools import partial
from urllib.parse import urlencode

import pytest
from fastapi.routing import iter_route_contexts
from markupsafe import escape

from obolo import locale
from obolo.checkout.model import LineItem, Terms
from obolo.entrypoints.web.task_pages import from_ns_local
from obolo.identity.errors import InvalidCredentials
from obolo.identity.model import Role
from obolo.mail.outbox import deliver_emails
from obolo.money import EUR, Amount
from obolo.settings import Settings
from obolo.tap.model import Mode
from obolo.tap.service import Credential, TapIn
from tests.fakes import FakeEmailGateway
from tests.integration.italian_pages import not_italian, visible_text
from tests.web_support import Browser, make_platform, money_snapshot, top_up_form

ITALIAN = {"accept-language": "it-IT,it;q=0.9", "accept": "text/html,application/xhtml+xml"}
SITE = "https://rivista.esempio"
#: What people and sites in the world are called: theirs, not ours to translate.
NAMES = frozenset(
    {"Anna", "Rossi", "Carla", "Dario", "Elena", "Olga", "Rivista", "Bottega", "Metro", "Franco"}
)
#: A number not yet on Obolo when Anna pays it; it joins on the SMS simulator.
SMS_NUMBER = "+393401112233"
CARD_UID = bytes.fromhex("04A1B2C3D4E5F6")

#: GET routes that answer programs, not people (JSON, scripts, files, the API's docs).
NOT_PAGES = {
    "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc", "/metrics", "/livez", "/healthz",
    "/x402/supported", "/widget.js", "/widget/popup.js", "/checkout.js", "/pay/method",
    "/pay/method/manifest.json", "/pay/handler/app.json", "/pay/handler/sw.js", "/pay/handler/window.js",
    "/pay/handler/icon.png", "/wallet/statement.csv", "/account/export.json",
}  # fmt: skip


@pytest.fixture
def platform(sqlite_url, clock):
    """The walks render many pages: on SQLite (what they test is the pages, not the store). A
    demo's server, so the SMS simulator is a page too; invitations wait an hour."""
    settings = Settings(refund_window_seconds=600, demo=True, invite_claim_seconds=3600)
    for built in make_platform(sqlite_url, clock, settings):
        built.email_gateway = FakeEmailGateway()
        yield built


@pytest.fixture
def any_platform(db_url, clock):
    """Refusals and page errors: on SQLite and PostgreSQL."""
    yield from make_platform(db_url, clock, Settings(refund_window_seconds=600))


def italian(platform, email: str, name: str, role: Role | None = None) -> Browser:
    """Someone whose browser speaks Italian, signed up (from that browser) and signed in."""
    browser = Browser(platform)
    browser.client.headers.update(ITALIAN)
    browser.user_id = browser.sign_up(email, name)
    if role is not None:
        platform.identity.add_role(browser.user_id, role)
    return browser


def world(platform, clock) -> dict:
    """Money has moved every way a page shows: top-ups, a payment, money sent before its
    recipient joined (one claimed, one returned, one claimed by SMS on the simulator), card
    taps (a shop, a transit day capped and closed), paid views and a refund on a site, a task
    paid, a payment request paid and partly refunded and one open, an API key."""
    anna = italian(platform, "anna@esempio.it", "Anna Rossi")
    carla = italian(platform, "carla@esempio.it", "Carla", Role.PROVIDER)
    assert top_up_form(anna, "10,50").status_code == 303
    for to, amount in (("elena@esempio.it", "0,30"), ("nessuno@esempio.it", "0,40"), (SMS_NUMBER, "1,00")):
        sent = anna.submit("/wallet", "/wallet/send", {"to": to, "amount": amount, "asset": "EUR"})
        assert sent.status_code == 303, sent.text
    dario = italian(platform, "dario@esempio.it", "Dario", Role.EMPLOYER)
    elena = italian(platform, "elena@esempio.it", "Elena", Role.WORKER)
    olga = italian(platform, "olga@esempio.it", "Olga")
    platform.identity.grant_role("olga@esempio.it", Role.OPERATOR)
    claimed = elena.submit("/wallet", "/wallet/claim", {"code": claim_code(platform, "elena@esempio.it")})
    assert claimed.status_code == 303, claimed.text
    for body in ("REGISTRA Franco", "SALDO", "STORICO"):
        assert anna.client.post("/sms/simulator", data={"phone": SMS_NUMBER, "body": body}).status_code == 200
    taps(platform, clock, anna.user_id, carla.user_id)
    assert platform.invitations.return_due() == 1  # nessuno@ never joined: the money went back
    for who, email in ((anna, "anna@esempio.it"), (carla, "carla@esempio.it"), (dario, "dario@esempio.it"),
                       (elena, "elena@esempio.it"), (olga, "olga@esempio.it")):  # fmt: skip
        who.sign_in(email)  # a day went by: sessions last 12 hours
    assert top_up_form(dario, "20,00").status_code == 303
    assert anna.submit("/wallet", "/wallet/send", {"to": "elena@esempio.it", "amount": "1,25", "asset": "EUR",
                                                   "note": "Grazie"}).status_code == 303  # fmt: skip
    site = platform.paywall.register_provider(carla.user_id, "La Rivista", SITE)
    platform.identity.create_api_key(carla.user_id, "Server della Rivista", ["provider:*"])
    consent = {"provider_id": site.id, "asset": "EUR", "per_item": "0,50", "per_day": "2,00"}
    assert anna.submit("/reading", "/reading/consent", consent).status_code == 303
    for n in (1, 2):
        platform.tabs.charge(anna.user_id, site.id, f"/articoli/{n}", Amount(100_000 * n, EUR), f"v{n}")
    anna.submit("/reading", "/reading/refund", {"provider_id": site.id, "charge_id": "v1"})
    task = {
        "title": "C'è un gatto?", "instructions": "Guarda la foto.\nRispondi sì o no.", "reward": "0,50",
        "asset": "EUR", "assignments": "2", "minutes": "10", "auto_hours": "72",
        "deadline": from_ns_local(clock() + 2 * 86_400 * 10**9), "min_rate": "0", "min_approved": "0",
    }  # fmt: skip
    posted = dario.submit("/tasks/employer", "/tasks/employer/post", task)
    task_id = re.match(r"/tasks/employer/([0-9a-f-]{36})", posted.headers["location"]).group(1)
    taken = elena.submit("/tasks/work", f"/tasks/work/{task_id}/accept", {})
    assignment_id = re.search(r"assignments/([0-9a-f-]{36})", taken.headers["location"]).group(1)
    work = f"/tasks/work/assignments/{assignment_id}"
    assert elena.submit(work, f"{work}/submit", {"answer": "sì"}).status_code == 303
    picked = {"pick": [assignment_id], "action": "approve", "reason": ""}
    assert (
        dario.submit(f"/tasks/employer/{task_id}", f"/tasks/employer/{task_id}/review", picked).status_code
        == 303
    )
    terms = Terms(12_000_000, "Macchina fotografica", "ordine-1", f"{SITE}/ordini/1", 600,
                  (LineItem("Macchina", 1, 12_000_000),))  # fmt: skip
    request = platform.checkout.create(carla.user_id, site.id, terms, "EUR")
    sold = Terms(2_000_000, "Cartolina", "ordine-2", f"{SITE}/ordini/2", 600)
    paid = platform.checkout.create(carla.user_id, site.id, sold, "EUR")
    platform.checkout.pay(anna.user_id, paid.id)
    platform.checkout.refund(carla.user_id, paid.id, Amount(500_000, EUR), "Angolo piegato")
    stranger = Browser(platform)
    stranger.client.headers.update(ITALIAN)
    widget = {"provider": site.id, "resource": "/articoli/3", "price": "0.10", "asset": "EUR", "origin": SITE}
    handler = {"request": request.id, "origin": SITE, "frame": SITE, "amount": "12.00", "currency": "EUR"}
    return {
        "people": {"lettrice": anna, "fornitrice": carla, "datore": dario, "lavoratrice": elena,
                   "operatrice": olga, "sconosciuto": stranger},
        "paths": {
            "/tasks/employer/{task_id}": f"/tasks/employer/{task_id}",
            "/tasks/work/assignments/{assignment_id}": work,
            "/p/{code}": "/p/NESSUNO",
            "/operator/people/{user_id}": f"/operator/people/{anna.user_id}",
            "/pay/{request_id}": f"/pay/{request.id}",
            "/widget/pay": "/widget/pay?" + urlencode(widget),
            "/pay/handler/confirm": "/pay/handler/confirm?" + urlencode(handler),
            "/sms/simulator": "/sms/simulator?" + urlencode({"phone": SMS_NUMBER}),
        },
    }  # fmt: skip


def claim_code(platform, address: str) -> str:
    """The code the invitation mailed to `address` says."""
    deliver_emails(platform.engine, platform.email_gateway, platform.clock)
    (body,) = [body for _subject, body in platform.email_gateway.to(address)]
    return re.search(r"\b([A-Z0-9]{4}(?:-[A-Z0-9]{4}){3})\b", body).group(1)


def taps(platform, clock, rider: str, owner: str) -> None:
    """The rider's card taps at the owner's shop, and twice at the owner's gates (fares 2,00, a
    daily cap of 3,00); the next day the transit day closes, capped."""
    euros = partial(Amount.parse, asset=EUR)
    shop = platform.tap.register_merchant(
        owner, "Bottega", "https://bottega.esempio", Mode.RETAIL, "EUR", offline_limit=euros("5.00").units
    )
    metro = platform.tap.register_merchant(
        owner, "Metro", "https://metro.esempio", Mode.TRANSIT, "EUR", offline_limit=euros("5.00").units,
        fare=euros("2.00").units, daily_cap=euros("3.00").units, weekly_cap=euros("15.00").units,
    )  # fmt: skip
    till, till_key = platform.tap.register_terminal(owner, shop.id, "cassa", Mode.RETAIL)
    gate, gate_key = platform.tap.register_terminal(owner, metro.id, "tornello", Mode.TRANSIT)
    platform.tap.link_card(rider, CARD_UID, "tessera blu")
    charged = platform.tap.tap(
        Credential(till.id, api_key=till_key), TapIn(str(uuid.uuid4()), CARD_UID, euros("1.20").units)
    )
    assert charged.charged == euros("1.20").units
    for _ride in ("andata", "ritorno"):
        platform.tap.tap(Credential(gate.id, api_key=gate_key), TapIn(str(uuid.uuid4()), CARD_UID))
        clock.advance(3_600)
    clock.advance(26 * 3_600)
    assert platform.tap.close_days() == 1


def page_routes(browser: Browser) -> list[str]:
    app = browser.client.app
    return sorted(
        {
            context.path
            for context in iter_route_contexts(app.router.routes)
            if context.path and context.methods and "GET" in context.methods
            and not context.path.startswith(("/v1/", "/.well-known/")) and context.path not in NOT_PAGES
        }
    )  # fmt: skip


def test_every_page_reads_in_italian_for_everyone(platform, clock):
    """Each page, as each person (and a stranger), in Italian: no English sentence, no raw code,
    no amount with a decimal point or six decimals. A page added to the app is walked too; one
    with a path parameter needs a sample here (the test says which)."""
    built = world(platform, clock)
    routes = page_routes(built["people"]["lettrice"])
    unknown = [r for r in routes if "{" in r and r not in built["paths"]]
    assert unknown == [], f"give these pages a sample path: {unknown}"
    walked, found = 0, []
    for who, browser in built["people"].items():
        for route in routes:
            path = built["paths"].get(route, route)
            answer = browser.get(path)
            assert answer.status_code < 500, (who, path, answer.text[:300])
            if answer.status_code in (301, 302, 303, 307):
                continue  # a redirect is read where it lands (its target is walked too)
            assert answer.headers["content-type"].startswith("text/html"), (who, path)
            assert '<html lang="it">' in answer.text, (who, path)
            walked += 1
            if path == "/wallet/history":
                continue  # its entries' descriptions: test_the_history_reads_in_italian
            found += [f"{who} {path}: {problem}" for problem in not_italian(answer.text, NAMES)]
    assert walked > 60
    assert found == [], "\n".join(sorted(set(found)))


#: What each person's history says of their taps, shop payments and invitations, in Italian.
SAID = {
    "lettrice": ["Pagamento con tessera presso Bottega", "Corse Metro, {day} (tetto giornaliero raggiunto)",
                 "Pagato a La Rivista: Cartolina", "Rimborso da La Rivista: Cartolina (Angolo piegato)",
                 "Restituito: pagamento non riscosso a ne***@esempio.it"],
    "fornitrice": ["Pagamento con tessera", "Tariffe, {day}: 2 corse", "Vendita: La Rivista: Cartolina",
                   "Rimborso concesso: La Rivista: Cartolina (Angolo piegato)"],
    "lavoratrice": ["Pagamento da Anna Rossi"],
}  # fmt: skip


def test_the_history_reads_in_italian(platform, clock):
    """Each person's history, entries included, is Italian: taps (the day written by Babel),
    shop payments and refunds, invitations claimed and returned among them."""
    started = clock()
    built = world(platform, clock)
    found = [
        f"{who}: {problem}"
        for who, browser in built["people"].items()
        if who != "sconosciuto"
        for problem in not_italian(browser.get("/wallet/history").text, NAMES)
    ]
    assert found == [], "\n".join(found)
    day = locale.short_day(started, "it")
    for who, sentences in SAID.items():
        shown = visible_text(built["people"][who].get("/wallet/history").text)
        assert [s for s in sentences if s.format(day=day) not in shown] == [], who


def test_the_statement_reads_in_italian(platform, clock):
    """The CSV statement's kinds, statuses and descriptions are Italian, for the buyer and the
    seller of a refunded purchase, a rider and a transit operator."""
    built = world(platform, clock)
    found = []
    for who in ("lettrice", "fornitrice"):
        answer = built["people"][who].get("/wallet/statement.csv?asset=EUR")
        rows = list(csv.reader(io.StringIO(answer.text), delimiter=";"))
        assert rows[0][:4] == ["Data", "Tipo", "Stato", "Descrizione"]
        assert len(rows) > 4
        found += [f"{who}: {problem}" for row in rows[1:] for cell in row[1:4]
                  for problem in not_italian(f"<p>{escape(cell)}</p>", NAMES)]  # fmt: skip
    assert found == [], "\n".join(found)


def test_amounts_and_dates_on_the_italian_pages_are_written_the_italian_way(platform, clock):
    """The reader's wallet, history and reading page show Babel's Italian: "9,25 €", dates "dic"."""
    anna = world(platform, clock)["people"]["lettrice"]
    (balance,) = [b for b in platform.wallets.balances(anna.user_id) if b.asset == "EUR"]
    shown = re.findall(r'data-asset="EUR">([^<]+)<', anna.get("/wallet").text)
    assert shown == [locale.money(balance.available, EUR, "it")]
    assert re.fullmatch(r"\d+,\d\d\u00a0€", shown[0])
    history = " ".join(visible_text(anna.get("/wallet/history").text))
    assert "1,25\u00a0€" in history
    assert "10,50\u00a0€" in history
    assert re.search(r"\d{1,2} [a-z]{3} \d{4}, \d\d:\d\d", history)
    reading = " ".join(visible_text(anna.get("/reading").text))
    assert "0,20\u00a0€" in reading  # the view left after the refund


def test_the_history_filter_shows_labels_not_codes(platform):
    """The kinds in the filter read "Top-ups", "Paid reading" (or "Ricariche", "Letture a
    pagamento"), never "topup" or "paywall"."""
    ann = Browser(platform)
    ann.sign_up("ann@example.com", "Ann")
    english = ann.get("/wallet/history", headers={"accept-language": "en"}).text
    options = re.findall(r'<option value="([a-z]+)"[^>]*>([^<]+)</option>', english)
    labels = dict(options)
    assert labels["topup"] == "Top-ups"
    assert labels["paywall"] == "Paid reading"
    assert not any(code == label for code, label in options)
    italian_page = ann.get("/wallet/history", headers=ITALIAN).text
    assert (
        dict(re.findall(r'<option value="([a-z]+)"[^>]*>([^<]+)</option>', italian_page))["topup"]
        == "Ricariche"
    )


def refused(browser: Browser, page: str, action: str, data: dict[str, str]):
    answer = browser.submit(page, action, data)
    text = " ".join(visible_text(answer.text))
    return answer, text


def test_refusals_are_italian_with_italian_amounts_and_move_nothing(any_platform):
    """Not enough money names both amounts Italian-style; a declined card gives the bank's reason
    in words, not "(card_declined)"; an empty "To" asks for it; nothing moves for any of them."""
    platform = any_platform
    anna = italian(platform, "anna@esempio.it", "Anna Rossi")
    italian(platform, "bruno@esempio.it", "Bruno")
    assert top_up_form(anna, "4,00").status_code == 303
    before = money_snapshot(platform)
    answer, text = refused(
        anna, "/wallet", "/wallet/send", {"to": "bruno@esempio.it", "amount": "5", "asset": "EUR"}
    )
    assert answer.status_code == 422
    assert "Fondi insufficienti: disponibili 4,00\u00a0€, necessari 5,00\u00a0€." in text
    answer, text = refused(anna, "/wallet", "/wallet/topup", {
        "amount": "1", "asset": "EUR", "number": "4000 0000 0000 0002", "exp_month": "12", "exp_year": "2031",
        "cvc": "123"})  # fmt: skip
    assert answer.status_code == 422
    assert "La carta è stata rifiutata dalla sua banca." in text
    answer, text = refused(anna, "/wallet", "/wallet/send", {"to": "", "amount": "1", "asset": "EUR"})
    assert answer.status_code == 422
    assert "Scrivi l'email o il numero di telefono della persona da pagare." in text
    assert re.findall(r'id="f-([a-z]+)-error"', answer.text) == ["to"]
    for html in (answer.text,):
        assert not_italian(html, NAMES) == []
    assert money_snapshot(platform) == before


def test_a_weak_password_is_refused_on_the_italian_sign_up_with_its_reason(platform):
    """ "weakweakweak" makes no account; the page says why, in Italian."""
    stranger = Browser(platform)
    stranger.client.headers.update(ITALIAN)
    form = {"email": "debole@esempio.it", "password": "weakweakweak", "display_name": "Debole", "phone": ""}
    answer, text = refused(stranger, "/signup", "/signup", form)
    assert answer.status_code == 422
    assert "File di tasti, ripetizioni e sequenze sono facili da indovinare." in text
    assert not_italian(answer.text) == []
    with pytest.raises(InvalidCredentials):  # no such person
        platform.identity.sign_in("debole@esempio.it", "weakweakweak", "127.0.0.1")


def test_the_page_language_is_kept_on_the_account_and_follows_the_switch(platform):
    """Signing up from an Italian page keeps "it" on the account; the switch changes it."""
    anna = italian(platform, "anna@esempio.it", "Anna Rossi")
    assert platform.identity.language(anna.user_id) == "it"
    assert anna.submit("/wallet", "/language", {"language": "en", "next": "/wallet"}).status_code == 303
    assert platform.identity.language(anna.user_id) == "en"


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/nessuna-pagina", 404),
        ("GET", "/tasks/employer/non-un-id", 404),
        ("GET", "/operator", 403),
        ("GET", "/wallet/send", 405),
        ("GET", "/wallet/history?kind=" + "x" * 40, 422),
    ],
)
def test_every_page_error_is_an_italian_page(any_platform, method, path, status):
    """Whatever goes wrong on a page route, a browser gets error.html in Italian with the
    right status: never problem+json."""
    platform = any_platform
    anna = italian(platform, "anna@esempio.it", "Anna Rossi")
    answer = anna.client.request(method, path)
    assert answer.status_code == status
    assert answer.headers["content-type"].startswith("text/html")
    assert '<html lang="it">' in answer.text
    assert not_italian(answer.text, NAMES) == []


def test_a_form_the_guard_refuses_is_an_italian_page_and_changes_nothing(any_platform):
    """A sign-up with a control character in the name (refused before any handler) answers a
    page in Italian, not the API's problem+json, and makes no account."""
    platform = any_platform
    stranger = Browser(platform)
    stranger.client.headers.update(ITALIAN)
    form = {"email": "x@esempio.it", "password": "cavallo batteria graffetta", "display_name": "a\x01b"}
    answer = stranger.submit("/signup", "/signup", form)
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("text/html")
    assert "Parte di ciò che è stato inviato non è valida. Nulla è cambiato." in answer.text
    assert not_italian(answer.text) == []
    api = stranger.client.post("/v1/users", json={"email": "\x01"}, headers={"accept": "application/json"})
    assert api.headers["content-type"].startswith("application/problem+json")


def test_the_detector_catches_what_an_italian_page_must_not_show():
    """English, codes and unformatted amounts are each found; an Italian sentence is not."""
    assert not_italian("<p>Fondi insufficienti: disponibili 4,00\u00a0€.</p>") == []
    assert not_italian("<p>1.234,50\u00a0€ · 0,001\u00a0€ · 3 dic 2026, 09:05</p>") == []
    assert not_italian("<p>15 gen +1,00 € Pagamento An*** Ro***</p>") == []  # a name masked in an SMS
    for bad in ("La carta è stata rifiutata (card_declined).", "disponibili 4.000000",
                "0.000000 EUR available; 1.000000 EUR is needed", "Totale 4.50 €", "Saldo 4,500000 €",
                "Payment to Bob", "topup"):  # fmt: skip
        assert not_italian(f"<p>{bad}</p>"), bad
