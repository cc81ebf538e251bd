"""Reading settings: consent per site through the form, tabs and channels with what is
left, refund buttons only within the window, and nobody else's views."""

from __future__ import annotations

import re

import pytest

from obolo.identity.model import Role
from obolo.money import EUR, Amount
from obolo.paywall.tabs import NoConsent, OverLimit
from obolo.settings import Settings
from tests.web_support import Browser, make_platform, money_snapshot, top_up_form


@pytest.fixture
def platform(db_url, clock):
    yield from make_platform(db_url, clock, Settings(refund_window_seconds=600))


@pytest.fixture
def site(platform):
    owner = Browser(platform)
    owner_id = owner.sign_up("pub@example.com")
    platform.identity.add_role(owner_id, Role.PROVIDER)
    return platform.paywall.register_provider(owner_id, "Daily News", "https://news.example")


@pytest.fixture
def ann(platform):
    browser = Browser(platform)
    browser.user_id = browser.sign_up("ann@example.com", "Ann")
    top_up_form(browser, "10.00")
    return browser


def consent_form(browser, site_id, per_item, per_day):
    return browser.submit(
        "/reading",
        "/reading/consent",
        {"provider_id": site_id, "asset": "EUR", "per_item": per_item, "per_day": per_day},
    )


def test_consent_given_on_the_page_is_what_the_site_may_charge(ann, site, platform):
    """0,20 per item and 0,30 a day: a 0.20 view passes, a 0.25 one and a third view do not."""
    assert consent_form(ann, site.id, "0,20", "0,30").status_code == 303
    page = ann.get("/reading?done=consent")
    assert "Your auto-pay limits are saved." in page.text
    assert 'value="0.20"' in page.text
    assert "€0.00 / €0.30" in page.text
    italian = ann.get("/reading", headers={"accept-language": "it"}).text
    assert ('value="0,20"' in italian, 'value="0,30"' in italian, 'value="0,10"' in italian) == (True,) * 3
    platform.tabs.charge(ann.user_id, site.id, "/a/1", Amount(200_000, EUR), "c1")
    with pytest.raises(OverLimit):
        platform.tabs.charge(ann.user_id, site.id, "/a/2", Amount(250_000, EUR), "c2")
    with pytest.raises(OverLimit):
        platform.tabs.charge(ann.user_id, site.id, "/a/3", Amount(200_000, EUR), "c3")


@pytest.mark.parametrize(
    ("per_item", "per_day", "field"),
    [
        ("0.50", "0.20", "per_day"),
        ("abc", "1", "per_item"),
        ("0", "1", "per_day"),
        ("0.1", "1,000.00", "per_day"),
    ],
)
def test_a_bad_consent_is_refused_beside_its_field_and_not_stored(
    ann, site, platform, per_item, per_day, field
):
    """Limits that break the rules are shown as errors; the site still may not charge."""
    answer = consent_form(ann, site.id, per_item, per_day)
    assert answer.status_code == 422
    assert re.findall(r'id="f-[0-9a-f-]*-?([a-z_]+)-error"', answer.text) == [field]
    with pytest.raises(NoConsent):
        platform.tabs.charge(ann.user_id, site.id, "/a/1", Amount(100_000, EUR), "c1")


def test_consent_to_an_unknown_site_is_refused(ann, site, platform):
    """A provider id that does not exist is refused beside the site choice."""
    answer = consent_form(ann, "01a20db0-1972-7c77-bf2d-ea9ffdd9add5", "0.1", "1")
    assert answer.status_code == 422
    assert "Choose a site from the list." in answer.text


def test_a_consent_form_without_the_csrf_token_changes_nothing(ann, site, platform):
    """Posting consent without the token is 403 and grants nothing."""
    ann.get("/reading")
    data = {"provider_id": site.id, "asset": "EUR", "per_item": "1", "per_day": "5"}
    assert ann.client.post("/reading/consent", data=data).status_code == 403
    with pytest.raises(NoConsent):
        platform.tabs.charge(ann.user_id, site.id, "/a/1", Amount(100_000, EUR), "c1")


def test_recent_views_can_be_refunded_within_the_window_only(ann, site, platform, clock):
    """A refund button shows for a fresh view and works; after the window it is gone."""
    consent_form(ann, site.id, "0.20", "2")
    platform.tabs.charge(ann.user_id, site.id, "/a/old", Amount(100_000, EUR), "old")
    clock.advance(601)
    platform.tabs.charge(ann.user_id, site.id, "/a/new", Amount(150_000, EUR), "new")
    page = ann.get("/reading")
    assert page.text.count('action="/reading/refund"') == 1
    assert 'name="charge_id" value="new"' in page.text
    assert platform.tabs.tab_of(ann.user_id, site.id) == (1_000_000, 250_000)
    answer = ann.submit("/reading", "/reading/refund", {"provider_id": site.id, "charge_id": "new"})
    assert answer.status_code == 303
    assert platform.tabs.tab_of(ann.user_id, site.id) == (1_000_000, 100_000)
    late = ann.submit("/reading", "/reading/refund", {"provider_id": site.id, "charge_id": "old"})
    assert late.status_code == 422
    assert "This view can no longer be refunded." in late.text
    assert platform.tabs.tab_of(ann.user_id, site.id) == (1_000_000, 100_000)


def test_someone_elses_views_are_neither_shown_nor_refundable(ann, site, platform):
    """Bob sees none of Ann's views and cannot refund them."""
    bob = Browser(platform)
    bob.sign_up("bob@example.com")
    consent_form(ann, site.id, "0.20", "2")
    platform.tabs.charge(ann.user_id, site.id, "/private/ann", Amount(100_000, EUR), "ann-1")
    assert "/private/ann" not in bob.get("/reading").text
    before = money_snapshot(platform)
    answer = bob.submit("/reading", "/reading/refund", {"provider_id": site.id, "charge_id": "ann-1"})
    assert answer.status_code == 422
    assert platform.tabs.tab_of(ann.user_id, site.id) == (1_000_000, 100_000)
    assert money_snapshot(platform) == before


def test_open_tabs_show_what_is_used_and_left(ann, site, platform):
    """An open tab shows used, reserved and left, exactly."""
    consent_form(ann, site.id, "0.20", "2")
    platform.tabs.charge(ann.user_id, site.id, "/a/1", Amount(120_000, EUR), "c1")
    page = ann.get("/reading")
    assert "Daily News: €0.12 used of €1.00 reserved; €0.88 left" in page.text


def test_stopping_auto_pay_removes_the_consent_but_keeps_the_tab(ann, site, platform):
    """After "stop auto-pay" the site may not charge; what the tab accrued stays owed."""
    consent_form(ann, site.id, "0.20", "2")
    platform.tabs.charge(ann.user_id, site.id, "/a/1", Amount(100_000, EUR), "c1")
    ann.get("/reading")
    assert ann.client.post("/reading/consent/revoke", data={"provider_id": site.id}).status_code == 403
    platform.tabs.charge(ann.user_id, site.id, "/a/2", Amount(100_000, EUR), "c2")  # still allowed
    answer = ann.submit("/reading", "/reading/consent/revoke", {"provider_id": site.id})
    assert answer.status_code == 303
    with pytest.raises(NoConsent):
        platform.tabs.charge(ann.user_id, site.id, "/a/3", Amount(100_000, EUR), "c3")
    assert platform.tabs.tab_of(ann.user_id, site.id) == (1_000_000, 200_000)
    assert "That site can no longer charge you without asking." in ann.get(answer.headers["location"]).text
