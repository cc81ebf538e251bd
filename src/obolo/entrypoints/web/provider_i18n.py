"""Italian for the provider dashboard's settings beyond prices: how long a page bought
reopens for free (the re-access period)."""

from __future__ import annotations

PROVIDER_IT: dict[str, str] = {
    "Reading again": "Rilettura",
    "A reader who bought a page reopens it for free on all their devices for {span}.": (
        "Chi ha acquistato una pagina la riapre gratis su tutti i suoi dispositivi per {span}."
    ),
    "Every view is paid: a page bought does not reopen for free.": (
        "Ogni lettura è a pagamento: una pagina acquistata non si riapre gratis."
    ),
    "Reopens for": "Si riapre per",
    "Unit": "Unità",
    "0 makes every view paid; at most a year. Give your site's middleware the same period.": (
        "0 rende ogni lettura a pagamento; al massimo un anno. Dai lo stesso periodo al "
        "middleware del tuo sito."
    ),
    "days": "giorni",
    "hours": "ore",
    "minutes": "minuti",
    "seconds": "secondi",
    "Write a whole number, 0 or more.": "Scrivi un numero intero, 0 o più.",
    "At most a year ({most}).": "Al massimo un anno ({most}).",
    "Re-access period saved.": "Periodo di rilettura salvato.",
}
