"""The provider dashboard sets the re-access period as a count of a unit, shows it in
words in the page's language (Babel), refuses a bad one beside the field without changing
it, and never touches another provider's site."""

from __future__ import annotations

import re

import pytest

from tests.integration.test_web_italian import ITALIAN
from tests.integration.test_web_provider import platform, provider, pub

__all__ = ["platform", "pub"]  # fixtures: imported here for pytest to find


def set_period(browser, site_id: str, count: str, unit: str):
    return browser.submit("/provider", "/provider/reaccess", {"site": site_id, "count": count, "unit": unit})


def test_a_new_site_reopens_for_a_day_and_the_provider_sets_its_own(pub, platform):
    """A day unless set; 30 days typed become 2592000 seconds, shown as "30 days" and,
    in Italian, "30 giorni"; 0 says every view is paid."""
    assert "for 1 day." in pub.get(f"/provider?site={pub.site_id}").text
    answer = set_period(pub, pub.site_id, "30", "day")
    assert answer.status_code == 303, answer.text
    assert platform.paywall.reaccess_period(pub.site_id) == 30 * 86_400
    page = pub.get(answer.headers["location"]).text
    assert "for 30 days." in page
    assert "Re-access period saved." in page
    pub.client.headers.update(ITALIAN)
    assert "per 30 giorni." in pub.get(f"/provider?site={pub.site_id}").text
    assert set_period(pub, pub.site_id, "0", "minute").status_code == 303
    assert "Ogni lettura è a pagamento" in pub.get(f"/provider?site={pub.site_id}").text
    assert platform.paywall.reaccess_period(pub.site_id) == 0


@pytest.mark.parametrize(
    ("count", "unit"), [("-1", "hour"), ("1.5", "hour"), ("ten", "minute"), ("366", "day"), ("5", "week")]
)
def test_a_bad_period_is_refused_beside_the_field_and_nothing_changes(pub, platform, count, unit):
    """Negative, not whole, not a number, past a year, an unknown unit: 422 on the count,
    the period stays a day."""
    answer = set_period(pub, pub.site_id, count, unit)
    assert answer.status_code == 422
    assert re.findall(r'id="f-([a-z0-9_-]+)-error"', answer.text) == ["reaccess-count"]
    assert platform.paywall.reaccess_period(pub.site_id) == 24 * 3600


def test_another_providers_period_cannot_be_set(pub, platform):
    """Another provider's site id is 404 and its period stays a day."""
    other = provider(platform, "rival@example.com", "rival")
    assert set_period(pub, other.site_id, "10", "minute").status_code == 404
    assert platform.paywall.reaccess_period(other.site_id) == 24 * 3600
