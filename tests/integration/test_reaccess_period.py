"""The re-access period is the provider's: set through the API (0 to a year, a day unless
set), it decides how long a purchase reopens its page on the reader's other devices; each
purchase keeps the period it was bought under; bad input is refused and changes nothing."""

from __future__ import annotations

import json

import httpx
import pytest

from obolo.sdk.paywall import fetch_reaccess_period
from obolo.sdk.payword import unb64
from tests.integration.api_world import person
from tests.integration.paying_world import PRICE, World, world
from tests.integration.test_purchases import client_of, issue_receipt_key, router

__all__ = ["world"]  # a fixture: imported here for pytest to find

MINUTES_10 = 600
TWO_HOURS = 2 * 3600  # a session outlives it: the reader stays signed in


def set_period(world: World, seconds: object, headers: dict[str, str] | None = None) -> object:
    path = f"/v1/providers/{world.provider_id}/reaccess-period"
    return world.api.put(path, json={"seconds": seconds}, headers=headers or world.publisher)


def period(world: World) -> int:
    answer = world.api.get(f"/v1/providers/{world.provider_id}/reaccess-period")  # public
    assert answer.status_code == 200, answer.text
    return int(answer.json()["seconds"])


def asked(world: World, resource: str) -> object:
    query = {"provider_id": world.provider_id, "resource": resource}
    return world.api.get("/v1/purchases", params=query, headers=world.reader)


def test_a_purchase_reopens_elsewhere_within_the_providers_period_and_is_charged_again_after(world, clock):
    """Ten minutes set: the phone reopens what the laptop bought at 9:59 for nothing, with
    a re-access receipt that ends with the purchase; at 10:01 it pays again (that payment a
    new purchase a third client then reopens)."""
    assert set_period(world, MINUTES_10).json() == {"seconds": MINUTES_10}
    assert period(world) == MINUTES_10
    world.site.reaccess_seconds = MINUTES_10  # the site's middleware follows its own setting
    issue_receipt_key(world)
    http = router(world)
    laptop, phone = client_of(world, http), client_of(world, http)
    assert laptop.get("https://mag.example/articles/1").text == "article 1"
    assert laptop.spent == PRICE

    clock.advance(MINUTES_10 - 1)
    found = asked(world, "/articles/1")
    assert found.status_code == 200, found.text
    assert found.json()["until"] - found.json()["bought_at"] == MINUTES_10
    receipt = json.loads(unb64(found.json()["receipt"].split(".")[0]))
    assert receipt["expires_at"] == found.json()["until"]  # min(2 minutes, the purchase's end)
    assert phone.get("https://mag.example/articles/1").text == "article 1"
    assert (phone.spent, phone.reserved) == (0, 0)

    clock.advance(2)
    over = asked(world, "/articles/1")
    assert (over.status_code, over.json()["code"]) == (404, "not_purchased")
    assert phone.get("https://mag.example/articles/1").text == "article 1"  # its read-again receipt ended too
    assert phone.spent == PRICE
    tablet = client_of(world, http)  # the phone's purchase is the account's: a new ten minutes
    assert tablet.get("https://mag.example/articles/1").text == "article 1"
    assert tablet.spent == 0
    assert sorted(r["paid"] for r in world.settle()) == ["0.100000"] * 2
    assert world.available(world.reader) == 5_000_000 - 2 * PRICE


def test_a_purchase_keeps_the_period_it_was_bought_under(world, clock):
    """Lengthening the period does not reopen what was bought under ten minutes;
    shortening it (even to 0) does not close what was bought under two hours."""
    issue_receipt_key(world)
    http = router(world)
    laptop, phone = client_of(world, http), client_of(world, http)
    set_period(world, MINUTES_10)
    laptop.get("https://mag.example/articles/2")
    set_period(world, TWO_HOURS)
    laptop.get("https://mag.example/articles/3")
    assert set_period(world, 0).json() == {"seconds": 0}

    clock.advance(MINUTES_10 + 1)
    assert asked(world, "/articles/2").status_code == 404
    assert phone.get("https://mag.example/articles/2").text == "article 2"
    assert phone.spent == PRICE
    clock.advance(TWO_HOURS - MINUTES_10 - 2)
    kept = asked(world, "/articles/3")
    assert kept.json()["until"] - kept.json()["bought_at"] == TWO_HOURS
    assert phone.get("https://mag.example/articles/3").text == "article 3"
    assert phone.spent == PRICE  # reopened for nothing

    laptop.get("https://mag.example/articles/4")  # bought under 0: every view is paid
    assert asked(world, "/articles/4").status_code == 404
    assert phone.get("https://mag.example/articles/4").text == "article 4"
    assert phone.spent == 2 * PRICE


def test_a_widget_charge_reopens_for_the_providers_period(world, clock):
    """A charge on the reader's tab is a purchase too, under the period in force."""
    set_period(world, MINUTES_10)
    consent = {"asset": "EUR", "per_item": "0.10", "per_day": "1.00"}
    assert world.api.put(f"/v1/consents/{world.provider_id}", json=consent, headers=world.reader).is_success
    charge = {"provider_id": world.provider_id, "resource": "/articles/9", "asset": "EUR", "amount": "0.10",
              "charge_id": "c-9"}  # fmt: skip
    assert world.api.post("/v1/charges", json=charge, headers=world.reader).status_code == 201
    found = asked(world, "/articles/9").json()
    assert found["until"] - found["bought_at"] == MINUTES_10
    clock.advance(MINUTES_10)
    assert asked(world, "/articles/9").status_code == 404


@pytest.mark.parametrize("seconds", [-1, 365 * 86_400 + 1, 1.5, "600", True, None])
def test_a_bad_period_is_refused_and_changes_nothing(world, seconds):
    """Negative, past a year, not whole seconds: 422, the period stays a day and what is
    bought still reopens for a day; no money moves."""
    before = world.available(world.reader)
    refused = set_period(world, seconds)
    assert (refused.status_code, refused.json()["code"]) == (422, "validation_error"), refused.text
    assert period(world) == 24 * 3600
    issue_receipt_key(world)
    client_of(world, router(world)).get("https://mag.example/articles/1")
    found = asked(world, "/articles/1").json()
    assert found["until"] - found["bought_at"] == 24 * 3600
    world.settle()  # what the channel reserved and did not use comes back
    assert world.available(world.reader) == before - PRICE


def test_only_the_providers_owner_sets_its_period(world):
    """Another provider, a reader, or anyone naming an unknown provider gets 404
    provider_not_found (whether it exists is not told); the period stays a day."""
    other = person(world.api, "rival@example.com", "provider")
    foreign = set_period(world, MINUTES_10, other)
    assert (foreign.status_code, foreign.json()["code"]) == (404, "provider_not_found")
    reader = set_period(world, MINUTES_10, world.reader)
    assert (reader.status_code, reader.json()["code"]) == (404, "provider_not_found")
    unknown = world.api.put(
        "/v1/providers/00000000-0000-4000-8000-000000000000/reaccess-period",
        json={"seconds": MINUTES_10},
        headers=world.publisher,
    )
    assert (unknown.status_code, unknown.json()["code"]) == (404, "provider_not_found")
    assert period(world) == 24 * 3600


def test_the_sdk_fetches_the_period_the_provider_set(world):
    """What the gate starts with: a day unless set, then the provider's; an unknown
    provider is an error, not a default; a platform without the setting gave a day."""
    assert fetch_reaccess_period(world.api, "", world.provider_id) == 24 * 3600
    set_period(world, MINUTES_10)
    assert fetch_reaccess_period(world.api, "", world.provider_id) == MINUTES_10
    with pytest.raises(httpx.HTTPStatusError):
        fetch_reaccess_period(world.api, "", "00000000-0000-4000-8000-000000000000")
    older = httpx.Client(
        transport=httpx.MockTransport(lambda r: httpx.Response(404, json={"code": "not_found"}))
    )
    assert fetch_reaccess_period(older, "http://old.example", world.provider_id) == 24 * 3600
