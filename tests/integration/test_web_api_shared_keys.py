"""A person's idempotency key is one key whether a web form or the API sent it: a form's
key sent again on the API (or the API's on a form) is another request, refused with
`idempotency_key_reused`, and nothing moves; the same form sent twice goes where the first
went, once."""

from __future__ import annotations

import html
import uuid

import pytest

from obolo.adapters.clock import iso
from obolo.adapters.db.schema import reader_passes, sandbox_card_charges
from obolo.adapters.db.schema_tasks import tasks
from obolo.examples.magazine import PRICE_RULES
from obolo.identity.model import Role
from tests.integration.api_world import CARD
from tests.integration.test_web_tasks import post_form
from tests.integration.test_widget_purchases import SITE, form_in, popup_path
from tests.web_support import Browser, make_platform, money_snapshot, top_up_form

REUSED = "This form was already sent with other values. Reload the page."


@pytest.fixture
def platform(db_url, clock):
    yield from make_platform(db_url, clock)


@pytest.fixture
def provider_id(platform) -> str:
    """The Magazine, selling passes."""
    owner = platform.identity.sign_up("magazine@example.com", "magazine password", "Magazine").id
    platform.identity.add_role(owner, Role.PROVIDER)
    provider = platform.paywall.register_provider(owner, "The Magazine", SITE)
    platform.paywall.set_price_rules(owner, provider.id, PRICE_RULES)
    return provider.id


def person(platform, email: str, top_up: str = "") -> Browser:
    browser = Browser(platform)
    browser.user_id = browser.sign_up(email, email.split("@")[0])
    if top_up:
        assert top_up_form(browser, top_up).status_code == 303
    return browser


def books(platform) -> tuple[list[tuple], int]:
    """Every account's totals and how many transfers the ledger holds: equal, nothing moved."""
    with platform.engine.connect() as connection:
        transfers = connection.exec_driver_sql("SELECT count(*) FROM ledger_transfers").scalar_one()
    return money_snapshot(platform), int(transfers)


def rows(platform, table) -> int:
    with platform.engine.connect() as connection:
        return len(connection.execute(table.select()).all())


def api(browser: Browser, path: str, body: dict, key: str):
    """The API called with the browser's own session, so with the same person's keys."""
    token = browser.client.cookies["obolo_session"]
    return browser.client.post(
        path, json=body, headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key}
    )


def send_form(browser: Browser, amount: str, key: str, to: str = "bob@example.com"):
    return browser.submit("/wallet", "/wallet/send", {"to": to, "amount": amount, "asset": "EUR", "key": key})


def assert_reused(answer) -> None:
    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == "idempotency_key_reused"


@pytest.mark.parametrize("amount", ["2.00", "1.00"])
def test_a_key_the_send_form_used_is_refused_on_the_api_and_moves_nothing(platform, amount):
    """The send form's key, then POST /v1/payments with it: another request (even for the
    same amount to the same person: a form is not the API), 422, the books unchanged."""
    ann, _bob = person(platform, "ann@example.com", "10.00"), person(platform, "bob@example.com")
    key = str(uuid.uuid4())
    assert send_form(ann, "1.00", key).status_code == 303
    before = books(platform)
    answer = api(ann, "/v1/payments", {"to": "bob@example.com", "amount": amount, "asset": "EUR"}, key)
    assert_reused(answer)
    assert books(platform) == before


def test_a_key_the_top_up_form_used_is_refused_on_the_api_and_charges_no_card(platform):
    """The top-up form's key on POST /v1/topups (a route that claims its key before it
    charges the card): 422, the card not charged again, the books unchanged."""
    ann = person(platform, "ann@example.com")
    key = str(uuid.uuid4())
    assert top_up_form(ann, "3.00", key=key).status_code == 303
    before, charged = books(platform), rows(platform, sandbox_card_charges)
    answer = api(ann, "/v1/topups", {"amount": "3.00", "asset": "EUR", "card": CARD}, key)
    assert_reused(answer)
    assert books(platform) == before
    assert rows(platform, sandbox_card_charges) == charged


def test_a_key_the_api_used_is_refused_on_the_send_form_and_moves_nothing(platform):
    """A form's key is the client's to choose: one the API used for a payment, posted in
    the send form with other values, is refused above the form, nothing moved."""
    ann, _bob = person(platform, "ann@example.com", "10.00"), person(platform, "bob@example.com")
    key = "my-own-key-1"
    paid = api(ann, "/v1/payments", {"to": "bob@example.com", "amount": "1.00", "asset": "EUR"}, key)
    assert paid.status_code == 201, paid.text
    before = books(platform)
    answer = send_form(ann, "2.00", key)
    assert answer.status_code == 422
    assert REUSED in html.unescape(answer.text)
    assert books(platform) == before


def test_the_same_send_form_twice_pays_once_and_its_key_with_other_values_is_refused(platform):
    """A double submit goes where the first went and pays once; the key sent again with
    another amount is refused, not answered with the first payment."""
    ann, _bob = person(platform, "ann@example.com", "10.00"), person(platform, "bob@example.com")
    key = str(uuid.uuid4())
    first = send_form(ann, "1.00", key)
    assert first.status_code == 303
    before = books(platform)
    again = send_form(ann, "1.00", key)
    assert (again.status_code, again.headers["location"]) == (303, first.headers["location"])
    other = send_form(ann, "2.50", key)
    assert other.status_code == 422
    assert REUSED in html.unescape(other.text)
    assert books(platform) == before


def test_a_key_the_task_form_used_posts_no_task_on_the_api(platform, clock):
    """The post-a-task form's key on POST /v1/tasks with other terms: 422, not the form's
    task answered as if these terms were posted; nothing more held."""
    ann = person(platform, "ann@example.com", "10.00")
    platform.identity.add_role(ann.user_id, Role.EMPLOYER)
    key = str(uuid.uuid4())
    assert post_form(ann, clock, key=key).status_code == 303
    before = books(platform)
    body = {"title": "Another", "instructions": "Other terms.", "reward": "0.20", "asset": "EUR",
            "assignments": 1, "time_allowed_seconds": 600,
            "deadline": iso(clock() + 86_400 * 10**9)}  # fmt: skip
    assert_reused(api(ann, "/v1/tasks", body, key))
    assert books(platform) == before
    assert rows(platform, tasks) == 1


def test_a_key_the_api_used_for_a_payment_buys_no_pass_in_the_widget(platform, provider_id):
    """The pass form's key is made of its charge id, which the reader chooses: a payment
    made on the API with that key (a cent to a friend) is not taken for the pass's; the
    pass is refused, none held, nothing moved."""
    reader, _friend = person(platform, "reader@example.com", "5.00"), person(platform, "bob@example.com")
    fields = form_in(reader.get(popup_path(provider_id, **{"pass": "1"})).text, "/widget/pass")
    fields["charge_id"] = "chosen-by-the-reader"
    body = {"to": "bob@example.com", "amount": "0.01", "asset": "EUR"}
    assert api(reader, "/v1/payments", body, "widget-pass:chosen-by-the-reader").status_code == 201
    before = books(platform)
    refused = reader.client.post("/widget/pass", data=fields)
    assert refused.status_code == 409
    assert "The pass could not be bought. Nothing was paid." in html.unescape(refused.text)
    assert books(platform) == before
    assert rows(platform, reader_passes) == 0
