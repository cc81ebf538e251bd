"""A short journey in Italian in a real browser (Debian's chromium, locale it-IT): sign up,
top up, pay an article on the Magazine through the popup, read the wallet and the reading
page; amounts as Italians write them, the language kept on the account, the widget speaking
an Italian provider page's language, a missing page answered by an Italian page."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.widget_support import (
    Sites,
    browser,  # noqa: F401 -- a fixture
    pay_on_magazine,
    sign_up,
    start_sites,
    top_up,
)
from tests.integration.italian_pages import not_italian

NBSP = "\u00a0"


@pytest.fixture
def sites(tmp_path) -> Iterator[Sites]:
    yield from start_sites(tmp_path)


def test_an_italian_reader_signs_up_tops_up_and_pays_reading_italian_amounts(browser, sites):  # noqa: F811
    """it-IT from the first page to the history: Italian words, "5,00 €", the account in Italian."""
    context = browser.new_context(locale="it-IT", timezone_id="Europe/Rome")
    page = context.new_page()
    sign_up(page, sites.obolo, "lettrice@esempio.it", "Lettrice")
    assert sites.query("SELECT language FROM users WHERE email = ?", "lettrice@esempio.it") == [("it",)]
    top_up(page, sites.obolo, "5,00")
    assert page.locator(".balance[data-asset=EUR]").inner_text() == f"5,00{NBSP}€"
    assert not_italian(page.content(), frozenset({"Lettrice"})) == []

    popup = pay_on_magazine(page, sites.magazine, 1)
    assert popup.locator("html").get_attribute("lang") == "it"
    popup.locator("[data-pay]:enabled").click()
    page.wait_for_function("() => !document.querySelector('.priced')", timeout=10_000)
    assert len(sites.query("SELECT charge_id FROM charges")) == 1

    page.goto(f"{sites.obolo}/reading")
    views = page.locator("#charges-title + p + .table-wrap td.num").all_inner_texts()
    assert views == [f"0,10{NBSP}€"]
    page.goto(f"{sites.obolo}/wallet/history")
    assert f"+5,00{NBSP}€" in page.locator("td [data-amount]").all_inner_texts()

    missing = page.goto(f"{sites.obolo}/nessuna-pagina")
    assert missing is not None
    assert missing.status == 404
    assert page.locator("h1").inner_text() == "Pagina non trovata"
    context.close()


def test_the_widget_speaks_the_readers_language(browser, sites):  # noqa: F811
    """The widget speaks the reader's language (the browser's), whatever the provider's page
    is written in: "Paga 0,10 € con Obolo" for an Italian reader on an English page, "Pay
    €0.10 with Obolo" for an English reader on an Italian one."""
    for locale, page_lang, expected in (
        ("it-IT", "en", f"Paga 0,10{NBSP}€ con Obolo"),
        ("en-GB", "it", "Pay €0.10 with Obolo"),
    ):
        context = browser.new_context(locale=locale)
        page = context.new_page()
        page.set_content(
            f'<!doctype html><html lang="{page_lang}"><body><div data-obolo-price="0.10" '
            f'data-obolo-asset="EUR" data-obolo-provider="p" data-obolo-resource="/a"></div>'
            f'<script src="{sites.obolo}/widget.js"></script></body></html>'
        )
        page.wait_for_selector("button.obolo-pay")
        assert page.locator("button.obolo-pay").inner_text() == expected
        context.close()
