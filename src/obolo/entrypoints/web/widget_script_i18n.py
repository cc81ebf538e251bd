"""The texts of `/widget.js` (shown on a provider's page) in every language Obolo speaks.
The script is one public, cached file for every page, so it carries them all and picks the
page's language itself; they are written into it where it marks `/*OBOLO_TEXTS*/{}/*END*/`."""

from __future__ import annotations

import json

WIDGET_SCRIPT_IT: dict[str, str] = {
    "Allow pop-ups for this site to pay with Obolo.": (
        "Consenti i pop-up su questo sito per pagare con Obolo."
    ),
    "Opening…": "Apertura…",
    "The site refused the payment; nothing more was charged for it.": (
        "Il sito ha rifiutato il pagamento; non è stato addebitato altro."
    ),
    "The page could not be loaded; try again.": "Non è stato possibile caricare la pagina; riprova.",
    "Pay {amount} with Obolo": "Paga {amount} con Obolo",
}
MARK = b"/*OBOLO_TEXTS*/{}/*END*/"


def with_texts(script: bytes) -> bytes:
    """The script with its texts written in (unchanged if it has no mark)."""
    texts = json.dumps({"it": WIDGET_SCRIPT_IT}, ensure_ascii=False, sort_keys=True)
    return script.replace(MARK, texts.encode())
