"""Titles of what is bought, as pure rules: a provider's title is kept as one line of at most
TITLE_MAX characters or refused with its code; a title read off a page is bounded instead;
the SDK hands the provider's title on in its 402 offers, its view receipts and its payment
page (escaped); SMS HIST fits site and title into one GSM-7 message, cutting titles, never
the amounts."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from obolo.examples.magazine import ARTICLES, article_title, magazine
from obolo.paywall.errors import InvalidTitle
from obolo.paywall.model import TITLE_MAX, clean_title, fit_title
from obolo.sdk.gate import payment_page
from obolo.sdk.paywall import PaywallMiddleware, Price, decode_header
from obolo.sdk.views import ViewReceipt
from obolo.sms import texts
from obolo.sms.model import Lang


def test_a_title_is_kept_as_one_trimmed_line():
    """White space runs become one space, the ends trimmed; empty is no title."""
    assert clean_title("  Why   micropayments\n\tfailed ") == "Why micropayments failed"
    assert clean_title("   ") is None
    assert clean_title(None) is None
    assert clean_title("x" * TITLE_MAX) == "x" * TITLE_MAX


@pytest.mark.parametrize(
    "title",
    ["x" * (TITLE_MAX + 1), "x" * 10_000, "A\x00B", "A\x07B", "A\x7fB", "A\u202eB", "A\u2066B", "A\ud800B"],
)
def test_a_hostile_title_is_refused_with_its_code(title):
    """Too long, control, bidi or surrogate characters: invalid_title, never a silent change."""
    with pytest.raises(InvalidTitle) as refused:
        clean_title(title)
    assert refused.value.code == "invalid_title"


@given(st.text(max_size=2_000))
def test_a_title_read_off_a_page_is_always_one_a_provider_could_send(text):
    """Whatever a page holds, its fitted title passes the rule and keeps within the bound."""
    fitted = fit_title(text)
    assert fitted is None or (clean_title(fitted) == fitted and len(fitted) <= TITLE_MAX)


def test_a_long_page_title_is_cut_with_an_ellipsis():
    fitted = fit_title("Title " + "y" * 10_000)
    assert fitted is not None
    assert len(fitted) == TITLE_MAX
    assert fitted.startswith("Title yy")
    assert fitted.endswith("…")


# -- the SDK ------------------------------------------------------------------------------


def test_a_view_receipt_carries_the_title_and_old_receipts_still_verify():
    """The title survives the round trip under the MAC; a receipt without one reads None."""
    key = b"k" * 32
    titled = ViewReceipt("c", 1, "/articles/1", 10, "Why micropayments failed")
    assert ViewReceipt.verify(titled.sign(key), key) == titled
    assert ViewReceipt.verify(ViewReceipt("c", 1, "/a", 10).sign(key), key).title is None


async def _page(request):
    return PlainTextResponse("paid content")


def _get(app, path, accept="application/json"):
    async def call():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://site") as client:
            return await client.get(path, headers={"accept": accept})

    return asyncio.run(call())


def test_the_paywall_offers_name_the_item_when_the_provider_says(tmp_path):
    """`title_of` puts the title in the 402's channel offer; a path it does not name has none."""
    app = PaywallMiddleware(
        Starlette(routes=[Route("/a/{n}", _page)]), provider_id="mag", prices=[Price("/a/*", 1_000)],
        keys={}, server="http://obolo", store=tmp_path / "p.db",
        title_of=lambda path: "First article" if path == "/a/1" else None,
    )  # fmt: skip
    first = decode_header(_get(app, "/a/1").headers["Payment-Required"])["offers"][0]
    second = decode_header(_get(app, "/a/2").headers["Payment-Required"])["offers"][0]
    assert first["title"] == "First article"
    assert "title" not in second


def test_the_gates_payment_page_names_the_item_escaped():
    """The widget markup carries data-obolo-title, markup in it escaped."""
    page = payment_page("mag", "http://obolo")
    html = page("/a/1", [{"scheme": "obolo-channel", "price": "0.10", "asset": "EUR", "title": "<b>Hi</b>"}])
    assert 'data-obolo-title="&lt;b&gt;Hi&lt;/b&gt;"' in html
    assert "<b>Hi</b>" not in html


def test_the_magazine_sends_its_article_titles(tmp_path):
    """Its 402 (JSON and the browser's page) and its index name each article."""
    app = magazine("mag", {}, "http://obolo", tmp_path / "m.db")
    offer = decode_header(_get(app, "/articles/2").headers["Payment-Required"])["offers"][0]
    assert offer["title"] == ARTICLES[2][0] == article_title("/articles/2")
    assert f'data-obolo-title="{ARTICLES[2][0]}"' in _get(app, "/articles/2", "text/html").text
    index = _get(app, "/").text
    assert all(f'data-obolo-title="{title}"' in index for title, _ in ARTICLES.values())
    assert article_title("/free/1") is None


# -- SMS HIST -----------------------------------------------------------------------------


def test_gsm7_plain_keeps_what_gsm7_has_and_replaces_the_rest():
    assert texts.gsm7_plain("Perché l\u2019euro — «sì»… ça 😀") == 'Perché l\'euro - "sì"... ca ?'
    assert texts.gsm7_length(texts.gsm7_plain("Ωmega ∑ 中文 \u00a0x")) is not None


@pytest.mark.parametrize("lang", [Lang.EN, Lang.IT])
@given(tails=st.lists(st.text(max_size=300).map(texts.gsm7_plain), min_size=1, max_size=3))
def test_history_always_fits_one_message_and_keeps_every_amount(lang, tails):
    """Whatever the titles, HIST is one GSM-7 message and each line's day and amount stay whole."""
    heads = [f"3 Dec -€0.{n}0" for n in range(len(tails))]
    text = texts.history(list(zip(heads, tails, strict=True)), lang)
    assert texts.fits_one_sms(text), text
    assert all(head in text for head in heads)


def test_history_cuts_only_the_long_titles():
    """A short title is kept whole; the long ones share the rest of the room equally."""
    short = "The Magazine: Brief"
    long = "The Magazine: " + "a" * 200
    text = texts.history([("3 Dec -€0.10", long), ("3 Dec -€0.10", short), ("2 Dec -€0.10", long)], Lang.EN)
    assert texts.fits_one_sms(text), text
    first, second, third = text.removeprefix("Last: ").split("; ")
    assert second == f"3 Dec -€0.10 {short}"
    assert first.endswith("..")
    assert third.endswith("..")
    assert abs(len(first) - len(third)) <= 1
    assert len(text) >= 155  # the room is used, not wasted
