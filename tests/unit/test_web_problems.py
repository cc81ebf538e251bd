"""Refusals, labels, the widget's texts and emails, in every language: each sentence has its
Italian, each refusal is said by its code with its amounts formatted, and no code leaks."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from obolo.entrypoints.web import error_pages, labels, problems
from obolo.entrypoints.web.i18n import IT, translator
from obolo.entrypoints.web.wallet_pages import HISTORY_KIND_LABELS
from obolo.entrypoints.web.widget_script_i18n import MARK, WIDGET_SCRIPT_IT, with_texts
from obolo.errors import OboloError, RateLimited
from obolo.mail import messages
from obolo.mail.messages import INVITATION_EMAIL, INVITATION_SUBJECT, Notice
from obolo.money import EUR, NotAnAmount, TooManyDecimals
from obolo.wallets.errors import AmountOutOfLimits, CardDeclined, InsufficientFunds

WIDGET_JS = Path(problems.__file__).parent / "static" / "widget.js"


def english_sentences() -> set[str]:
    said = {message for _field, message in problems.MESSAGES.values()}
    said |= set(problems._DECLINES.values()) | set(problems._PASSWORD.values()) | {problems.GENERIC}
    said |= set(error_pages._TITLES.values()) | set(error_pages._HTTP_MESSAGES.values())
    said |= set(labels.PLATFORM_ACCOUNTS.values()) | set(labels.ROLES.values())
    said |= set(HISTORY_KIND_LABELS.values())
    return said


def test_every_refusal_label_and_error_page_sentence_has_its_italian():
    """Nothing the pages say about a refusal or a code falls back to English on an Italian page."""
    missing = sorted(s for s in english_sentences() if s not in IT)
    assert missing == []


def test_every_text_of_the_widget_script_has_its_italian_and_is_served_with_it():
    """Each t("…") in widget.js is in the catalogue the server writes into the script."""
    source = WIDGET_JS.read_text()
    used = set(re.findall(r'\bt\("((?:[^"\\]|\\.)+)"', source))
    assert used, "the extraction works"
    assert sorted(used - set(WIDGET_SCRIPT_IT)) == []
    assert MARK.decode() in source
    served = with_texts(source.encode()).decode()
    assert "Paga {amount} con Obolo" in served
    assert MARK.decode() not in served


def test_every_email_has_its_italian_with_the_same_placeholders():
    """The notices are complete in Italian, and no translation drops or invents a value."""
    for english, italian in messages.IT.items():
        assert set(re.findall(r"{(\w+)}", english)) == set(re.findall(r"{(\w+)}", italian)), english


def test_an_invitation_is_written_in_the_language_with_babel_amounts_and_dates():
    """1,50 € and "10 dic 2026" in Italian; €1.50 and "10 Dec 2026" in English."""
    notice = Notice(
        INVITATION_SUBJECT, INVITATION_EMAIL, {"sender": "Anna", "email": "b@esempio.it", "code": "ABCD"},
        {"amount": (1_500_000, EUR)}, {"until": 1_796_904_000 * 10**9},
    )  # fmt: skip
    subject, body = notice.written("it")
    assert subject == "Anna ti ha inviato 1,50\u00a0€ su Obolo"
    assert "Ti aspetta fino al 10 dic 2026." in body
    subject, body = notice.written("en")
    assert subject == "Anna sent you €1.50 on Obolo"
    assert "until 10 Dec 2026." in body


@pytest.mark.parametrize(
    ("error", "language", "field", "message"),
    [
        (InsufficientFunds("EUR", "1.000000", "0.000000"), "it", "amount",
         "Fondi insufficienti: disponibili 0,00\u00a0€, necessari 1,00\u00a0€."),
        (InsufficientFunds("EUR", "1.000000", "0.500000"), "en", "amount",
         "Not enough money: €0.50 available, €1.00 needed."),
        (AmountOutOfLimits("x", minimum="0.010000", maximum="500.000000"), "it", "amount",
         "L'importo deve essere tra 0,01\u00a0€ e 500,00\u00a0€."),
        (CardDeclined("the card was declined (card_declined)", decline_code="card_declined"), "it", "number",
         "La carta è stata rifiutata dalla sua banca."),
        (CardDeclined("x", decline_code="insufficient_funds"), "en", "number",
         "The card was declined: not enough funds on it."),
        (RateLimited("too many codes", 300), "it", "_form", "Troppi tentativi; riprova tra 5 min."),
        (NotAnAmount("abc"), "it", "amount", "Scrivi un importo come 2,50."),
        (TooManyDecimals("x"), "it", "amount", "Al massimo 6 decimali."),
    ],
)  # fmt: skip
def test_a_refusal_is_said_by_its_code_with_formatted_amounts(error, language, field, message):
    """The data of a refusal is formatted for the language; its code and English detail never show."""
    assert problems.field_error(error, translator(language)) == (field, message)


def test_an_unknown_code_says_nothing_was_changed_rather_than_its_detail():
    """A refusal the pages have no sentence for reads as a plain sentence, not its code or detail."""

    class Strange(OboloError):
        code = "strange_thing"

    _field, said = problems.field_error(Strange("the strange_thing happened"), translator("it"))
    assert said == "Non è stato possibile farlo. Nulla è cambiato."


def test_a_bug_is_not_dressed_as_a_refusal():
    """An error that is not the platform's own is raised again, not shown as a message."""
    with pytest.raises(KeyError):
        problems.field_error(KeyError("x"), translator("en"))
