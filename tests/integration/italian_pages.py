"""What an Italian reader reads on a page, and what in it is not Italian: the visible text
of an HTML page (with the attributes a person sees or hears), and a detector for English
sentences, raw codes and amounts not written the Italian way."""

from __future__ import annotations

import re
from html.parser import HTMLParser

#: Elements whose content a person does not read as prose: code shown to copy, scripts.
_SKIPPED = {"script", "style", "pre", "code", "textarea", "template"}
#: Attributes a person sees (tooltips, placeholders, confirmations) or hears (labels).
_SPOKEN = ("title", "aria-label", "placeholder", "alt", "data-confirm")


def _words(text: str) -> frozenset[str]:
    return frozenset(re.findall(r"\S+", text))


#: English words that are no Italian word: one of them means English on the page.
ENGLISH = _words(
    "the and you your with for from of to is are was were this that these has have had will been by "
    "its at or an be not can cannot yet here there what which only please when who how our we they "
    "their them it into than then also should would could does did done must may any some every after "
    "before again about just still while sign wallet page pages reading payment payments paid pay "
    "refund refunds top up fee fees balance available reserved pending posted released expired "
    "succeeded failed withdrawal topup paywall settlement adjustment reward rewards task tasks charge "
    "charges none yes more less back next new open close closed site sites price prices views view "
    "spent day month today "
)
#: Words allowed untranslated though they look English: brands, standards, Italian words.
ALLOWED = _words(
    "no obolo iban api csv sms eur usd visa mastercard payword x402 http https url ok email webhook "
    "sandbox id english italiano cvc json pin qr "
)

_WORD = re.compile(r"[A-Za-zÀ-ÿ']+")
#: Addresses, paths ("/v1/payment-requests", "https://…"), emails, ids and names masked in an
#: SMS ("An*** Ro***"): names, not prose.
_ADDRESS = re.compile(
    r"\S*/\S*|\S+@\S+|\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b|\S+\*{3}"
)
_CHECKS = {
    "raw code": re.compile(r"\b[a-z][a-z0-9]*_[a-z0-9_]+\b"),
    "raw decimal": re.compile(r"\d\.\d{4,}"),
    "decimal point in Italian": re.compile(r"(?<![\d.,])\d+\.\d{1,2}(?![\d])"),
    "trailing zeros": re.compile(r"\d,\d{2,}0(?!\d)"),
    "currency code after an amount": re.compile(r"\d\s?(?:EUR|USD)\b"),
}


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self.skipping += 1
        found = dict(attrs)
        self.parts.extend(str(found[name]) for name in _SPOKEN if found.get(name))
        if tag == "input" and found.get("type") in ("submit", "button") and found.get("value"):
            self.parts.append(str(found["value"]))

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED and self.skipping:
            self.skipping -= 1

    def handle_data(self, data: str) -> None:
        if not self.skipping and data.strip():
            # Only ASCII spaces fold: a no-break space belongs to an amount ("4,00\u00a0€").
            self.parts.append(re.sub(r"[ \t\r\n\f]+", " ", data).strip())


def visible_text(html: str) -> list[str]:
    """The page's text as a person meets it, piece by piece."""
    parser = _Text()
    parser.feed(html)
    return parser.parts


def not_italian(html: str, allowed: frozenset[str] = frozenset()) -> list[str]:
    """Each piece of the page that is English, a raw code or an amount not written the
    Italian way, with the reason ("english: ...", "raw code: ...")."""
    found: list[str] = []
    ignored = ALLOWED | {word.lower() for word in allowed}
    for shown in visible_text(html):
        piece = _ADDRESS.sub(" ", shown)
        english = [
            w for w in _WORD.findall(piece) if w.lower() in ENGLISH and w.lower() not in ignored and w != "IT"
        ]
        if english:
            found.append(f"english {english}: {shown}")
        for reason, pattern in _CHECKS.items():
            if pattern.search(piece):
                found.append(f"{reason}: {shown}")
    return found
