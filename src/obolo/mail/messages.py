"""Emails and notices in the reader's language: a `Notice` holds the English text and its
values (amounts as integer units, dates as ns), and is written out in a language when the
recipient is known: amounts and dates through `obolo.locale` (Babel), exact.

The catalogue is keyed by the English text, as the pages' is; a missing entry reads English."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from obolo import locale
from obolo.money import Asset


@dataclass(frozen=True)
class Notice:
    subject: str
    body: str
    values: Mapping[str, str] = field(default_factory=dict)
    amounts: Mapping[str, tuple[int, Asset]] = field(default_factory=dict)
    dates: Mapping[str, int] = field(default_factory=dict)

    def written(self, language: str) -> tuple[str, str]:
        """(subject, body) in `language` (one of obolo.locale.LANGUAGES; English otherwise)."""
        language = locale.language_of(language)
        table = CATALOGUE.get(language, {})
        filled: dict[str, str] = dict(self.values)
        filled.update({k: locale.money(units, asset, language) for k, (units, asset) in self.amounts.items()})
        filled.update({k: locale.date(ns, language) for k, ns in self.dates.items()})
        subject, body = table.get(self.subject, self.subject), table.get(self.body, self.body)
        if not filled:
            return subject, body
        return subject.format(**filled), body.format(**filled)


#: Money sent to an address with no account yet (wallets.invitations).
INVITATION_SUBJECT = "{sender} sent you {amount} on Obolo"
INVITATION_EMAIL = (
    "{sender} sent you {amount}. It waits for you until {until}.\n\n"
    "To claim it, sign up at Obolo with this address ({email}), then enter the code {code} on your "
    "wallet page, under Claim (or POST /v1/invitations/claim). The code works only for an account "
    "with this address.\n\nNot expecting this? Ignore this message: the money goes back to the sender."
)
INVITATION_TEXT = (
    "{sender} sent you {amount} on Obolo. Reply JOIN to claim it by {until}. STOP: no more invitations."
)

IT: dict[str, str] = {
    INVITATION_SUBJECT: "{sender} ti ha inviato {amount} su Obolo",
    INVITATION_EMAIL: (
        "{sender} ti ha inviato {amount}. Ti aspetta fino al {until}.\n\n"
        "Per riscuoterlo, registrati su Obolo con questo indirizzo ({email}), poi inserisci il codice "
        "{code} nella pagina del portafoglio, alla voce Riscuoti (oppure POST /v1/invitations/claim). Il "
        "codice vale solo per un account con questo indirizzo.\n\nNon te lo aspettavi? Ignora questo "
        "messaggio: il denaro torna a chi l'ha inviato."
    ),
    INVITATION_TEXT: (
        "{sender} ti ha inviato {amount} su Obolo. Rispondi JOIN per riscuoterlo entro il {until}. "
        "STOP: basta inviti."
    ),
    "Your payment was claimed": "Il tuo pagamento è stato riscosso",
    "The {amount} you sent to {recipient} reached them.": (
        "I {amount} che hai inviato a {recipient} sono arrivati."
    ),
    "Your payment came back": "Il tuo pagamento è tornato indietro",
    "Nobody claimed the {amount} you sent to {recipient}; it is back in your wallet.": (
        "Nessuno ha riscosso i {amount} che hai inviato a {recipient}; sono di nuovo nel tuo portafoglio."
    ),
    # sign-ups that named someone's details (identity.notices)
    "Someone tried to sign up with your details": "Qualcuno ha provato a registrarsi con i tuoi dati",
    "Someone tried to open an Obolo account with your email address. Your account is unchanged. If it "
    "was you, sign in instead (or reset your password); if not, you need do nothing.": (
        "Qualcuno ha provato ad aprire un account Obolo con il tuo indirizzo email. Il tuo account non è "
        "cambiato. Se eri tu, accedi (o reimposta la password); altrimenti non devi fare nulla."
    ),
    "Someone tried to open an Obolo account with your phone number. Your account is unchanged; if it "
    "was not you, you need do nothing.": (
        "Qualcuno ha provato ad aprire un account Obolo con il tuo numero di telefono. Il tuo account non "
        "è cambiato; se non eri tu, non devi fare nulla."
    ),
    "Your Obolo account was not opened": "Il tuo account Obolo non è stato aperto",
    "The phone number you gave is on another Obolo account, so no account was opened. Sign up again "
    "without it, or with another number.": (
        "Il numero di telefono che hai indicato è su un altro account Obolo, quindi non è stato aperto "
        "nessun account. Registrati di nuovo senza, o con un altro numero."
    ),
}
CATALOGUE: dict[str, dict[str, str]] = {"en": {}, "it": IT}
