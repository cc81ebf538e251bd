"""What the SMS service says, in English and Italian: every reply and notice, each fitting one
160-character GSM-7 message with realistic values (tests/unit check them all). Pure."""

from __future__ import annotations

import unicodedata

from obolo import locale
from obolo.money import Asset
from obolo.sms.model import Lang

# Amounts arrive formatted for the reader (`amount`), times too (`when`); where a value is long
# (a note) the receipt leaves it out rather than split.

MESSAGES: dict[str, tuple[str, str]] = {
    "help": (
        "Obolo: BAL balance, SEND 5 +39333... [note], HIST last 3, UNDO ref, PIN old new, JOIN to "
        "register, LANG it, STOP. Reply with your PIN to confirm.",
        "Obolo: SALDO, INVIA 5 +39333... [nota], STORICO ultimi 3, ANNULLA rif, PIN vecchio nuovo, "
        "REGISTRA per iscriverti, LINGUA en, STOP. Conferma col PIN.",
    ),
    "help_send": (
        "To send: SEND <amount> <phone or email> [note], e.g. SEND 5.50 +393331234567 pizza",
        "Per inviare: INVIA <importo> <telefono o email> [nota], es. INVIA 5,50 +393331234567 pizza",
    ),
    "help_pin": (
        "To change your PIN: PIN <old> <new>. First PIN: PIN <new>. A PIN is 4-6 digits.",
        "Per cambiare PIN: PIN <vecchio> <nuovo>. Primo PIN: PIN <nuovo>. Il PIN ha 4-6 cifre.",
    ),
    "help_undo": (
        "To undo a send: UNDO <ref>, with the reference from your receipt.",
        "Per annullare un invio: ANNULLA <rif>, con il riferimento della ricevuta.",
    ),
    "not_registered": (
        "This number has no Obolo wallet. Reply JOIN to open one.",
        "Questo numero non ha un portafoglio Obolo. Rispondi REGISTRA per aprirne uno.",
    ),
    "welcome": (
        "Welcome to Obolo! Your wallet is ready.{claimed} Now choose a 4-6 digit PIN: reply PIN <new PIN>.",
        "Benvenuto in Obolo! Il portafoglio è pronto.{claimed} Ora scegli un PIN di 4-6 cifre: "
        "rispondi PIN <nuovo PIN>.",
    ),
    "claimed_note": (
        " {amount} sent to you is now yours.",
        " {amount} inviati a te sono tuoi.",
    ),
    "linked": (
        "This number is now linked to your Obolo account.{claimed} Choose a 4-6 digit PIN: reply "
        "PIN <new PIN>.",
        "Numero collegato al tuo account Obolo.{claimed} Scegli un PIN di 4-6 cifre: rispondi "
        "PIN <nuovo PIN>.",
    ),
    "invalid_link_code": (
        "That link code is wrong or expired. Get a new one from your Obolo account.",
        "Codice di collegamento errato o scaduto. Richiedine uno nuovo dal tuo account Obolo.",
    ),
    "already_registered": (
        "This number already has an Obolo wallet. HELP lists the commands.",
        "Questo numero ha già un portafoglio Obolo. AIUTO elenca i comandi.",
    ),
    "pin_set": (
        "PIN set. Send money with SEND <amount> <number>.",
        "PIN impostato. Invia denaro con INVIA <importo> <numero>.",
    ),
    "pin_changed": ("PIN changed.", "PIN cambiato."),
    "pin_not_set": (
        "Set your PIN first: reply PIN <4-6 digits>.",
        "Prima imposta il PIN: rispondi PIN <4-6 cifre>.",
    ),
    "weak_pin": (
        "A PIN is 4-6 digits, not all the same or in a row (like 1234). Try another.",
        "Il PIN ha 4-6 cifre, non tutte uguali o in fila (come 1234). Provane un altro.",
    ),
    "wrong_pin": ("Wrong PIN. {left} attempts left.", "PIN errato. Tentativi rimasti: {left}."),
    "locked": (
        "Too many wrong PINs: sending is locked until {until} UTC. If this was not you, contact support.",
        "Troppi PIN errati: invii bloccati fino al {until} UTC. Se non eri tu, contatta l'assistenza.",
    ),
    "balance": ("Balance: {available}{held}.", "Saldo: {available}{held}."),
    "balance_note": (" Bal {available}.", " Saldo {available}."),
    "balance_held": (" ({reserved} held)", " ({reserved} riservati)"),
    "balance_on": ("Receipts will show your balance.", "Le ricevute mostreranno il saldo."),
    "balance_off": ("Receipts will not show your balance.", "Le ricevute non mostreranno il saldo."),
    "history": ("Last: {lines}", "Ultimi: {lines}"),
    "history_empty": ("No movements yet.", "Nessun movimento."),
    "confirm": (
        "Send {amount} to {name} {phone}? Fee {fee}. Reply your PIN within 5 min, or NO to cancel.",
        "Inviare {amount} a {name} {phone}? Commissione {fee}. Rispondi col PIN entro 5 min, o NO.",
    ),
    "confirm_invite": (
        "{phone} is not on Obolo: send {amount} (fee {fee}) for them to claim in {days} days? "
        "Reply your PIN within 5 min, or NO.",
        "{phone} non è su Obolo: inviare {amount} (comm. {fee}) da ritirare in {days} giorni? "
        "Rispondi col PIN entro 5 min, o NO.",
    ),
    "cancelled": ("Cancelled. No money moved.", "Annullato. Nessun movimento di denaro."),
    "nothing_to_confirm": (
        "Nothing is waiting for a PIN. To send: SEND <amount> <number>.",
        "Niente da confermare. Per inviare: INVIA <importo> <numero>.",
    ),
    "expired": (
        "That request expired (5 min). No money moved. Send it again.",
        "Richiesta scaduta (5 min). Nessun movimento. Invia di nuovo.",
    ),
    "sent": (
        "Sent {amount} to {name}. Fee {fee}. Ref {ref}. Wrong? UNDO {ref} within 10 min.{balance}",
        "Inviati {amount} a {name}. Comm. {fee}. Rif {ref}. Errore? ANNULLA {ref} entro 10 min.{balance}",
    ),
    "held": (
        "First payment to {name}: {amount} held until {until} UTC, then paid. Ref {ref}. "
        "UNDO {ref} cancels it.",
        "Primo pagamento a {name}: {amount} trattenuti fino al {until} UTC, poi pagati. "
        "Rif {ref}. ANNULLA {ref} per annullare.",
    ),
    "invite_sent": (
        "{amount} held for {phone}: they have {days} days to claim it, else it comes back. "
        "Ref {ref}. UNDO {ref} cancels.",
        "{amount} trattenuti per {phone}: ha {days} giorni per ritirarli, poi tornano a te. "
        "Rif {ref}. ANNULLA {ref}.",
    ),
    "received": (
        "You received {amount} from {name}, fee {fee}. Ref {ref}.{balance}",
        "Hai ricevuto {amount} da {name}, commissione {fee}. Rif {ref}.{balance}",
    ),
    "invitation": (
        "{name} sent you {amount} with Obolo. Reply JOIN within {days} days to claim it. Ref {ref}. "
        "STOP to opt out.",
        "{name} ti ha inviato {amount} con Obolo. Rispondi REGISTRA entro {days} giorni per "
        "ritirarli. Rif {ref}. STOP per non ricevere.",
    ),
    "claimed": (
        "{phone} claimed the {amount} you sent. Ref {ref}.",
        "{phone} ha ritirato i {amount} che hai inviato. Rif {ref}.",
    ),
    "returned": (
        "{phone} did not claim {amount} in {days} days: it is back in your wallet. Ref {ref}.{balance}",
        "{phone} non ha ritirato {amount} in {days} giorni: sono tornati a te. Rif {ref}.{balance}",
    ),
    "undone": (
        "Ref {ref} reversed: {amount} is back in your wallet.{balance}",
        "Rif {ref} stornato: {amount} sono tornati nel portafoglio.{balance}",
    ),
    "undone_recipient": (
        "The {amount} from {name} (ref {ref}) was sent by mistake and has been reversed.",
        "I {amount} da {name} (rif {ref}) erano un errore e sono stati stornati.",
    ),
    "undo_requested": (
        "Ref {ref} can no longer be undone by itself. Request recorded: we asked the recipient to return "
        "it; an operator may review.",
        "Rif {ref} non si può più annullare da solo. Richiesta registrata: abbiamo chiesto al destinatario "
        "di restituirlo.",
    ),
    "reversed_sender": (
        "Support reversed your {amount} to {name} (ref {ref}).{balance}",
        "L'assistenza ha stornato i tuoi {amount} a {name} (rif {ref}).{balance}",
    ),
    "reversed_recipient": (
        "Support reversed the {amount} from {name} (ref {ref}): it was sent by mistake.",
        "L'assistenza ha stornato i {amount} da {name} (rif {ref}): erano un errore.",
    ),
    "undo_declined": (
        "Support reviewed your request to undo ref {ref}: the payment stands.",
        "L'assistenza ha esaminato la richiesta di annullare il rif {ref}: il pagamento resta valido.",
    ),
    "return_asked": (
        "{name} says the {amount} (ref {ref}) was a mistake. To give it back: RETURN {ref}. Or ignore this.",
        "{name} dice che i {amount} (rif {ref}) erano un errore. Per restituirli: RESTITUISCI {ref}. "
        "O ignora.",
    ),
    "cannot_undo": ("Ref {ref} is already {status}.", "Rif {ref} è già {status}."),
    "unknown_ref": (
        "No payment of yours has the reference {ref}.",
        "Nessun tuo pagamento ha il riferimento {ref}.",
    ),
    "limit_per_send": (
        "Over the limit of {max} per send{new}. No money moved.",
        "Oltre il limite di {max} per invio{new}. Nessun movimento.",
    ),
    "limit_per_day": (
        "Over the daily limit of {max}{new}. No money moved.",
        "Oltre il limite giornaliero di {max}{new}. Nessun movimento.",
    ),
    "limit_per_hour": (
        "Too many sends in the last hour (max {max}). Try again later.",
        "Troppi invii nell'ultima ora (max {max}). Riprova più tardi.",
    ),
    "limit_new": (" (new number: lower limits for 24 h)", " (numero nuovo: limiti ridotti per 24 h)"),
    "insufficient": (
        "Not enough money: {available} available. No money moved.",
        "Fondi insufficienti: disponibili {available}. Nessun movimento.",
    ),
    "invalid_amount": (
        "Amount not understood: write e.g. SEND 5 or SEND 5.50. No money moved.",
        "Importo non valido: scrivi ad es. INVIA 5 o INVIA 5,50. Nessun movimento.",
    ),
    "invalid_recipient": (
        "Recipient not understood: write a number like +393331234567 or an email.",
        "Destinatario non valido: scrivi un numero come +393331234567 o una email.",
    ),
    "recipient_not_found": (
        "Nobody on Obolo has that email. Send to their phone number instead.",
        "Nessuno su Obolo ha quella email. Invia al loro numero di telefono.",
    ),
    "pay_yourself": ("You cannot send money to yourself.", "Non puoi inviare denaro a te stesso."),
    "stopped": (
        "You will get no more messages from Obolo except answers to yours. Reply START to undo.",
        "Non riceverai più messaggi da Obolo, solo risposte ai tuoi. Rispondi AVVIA per riattivarli.",
    ),
    "started": ("Obolo messages are back on.", "I messaggi Obolo sono riattivati."),
    "sign_in_code": (
        "Obolo: {code} is your code to sign in on the web. It expires in 10 min. Do not share it: "
        "Obolo never asks for it.",
        "Obolo: {code} è il codice per accedere al sito. Scade tra 10 min. Non darlo a nessuno: "
        "Obolo non lo chiede mai.",
    ),
    "help_language": (
        "To choose your language: LANG en or LANG it.",
        "Per scegliere la lingua: LINGUA it o LINGUA en.",
    ),
    "language_set": (
        "Obolo will write to you in English. LINGUA it: italiano.",
        "Obolo ti scriverà in italiano. LANG en: English.",
    ),
    "error": (
        "Sorry, something went wrong. No money moved. Please try again later.",
        "Spiacenti, qualcosa è andato storto. Nessun movimento. Riprova più tardi.",
    ),
}

STATUS_WORDS: dict[str, tuple[str, str]] = {
    "paid": ("paid", "pagato"),
    "claimed": ("claimed", "ritirato"),
    "returned": ("returned", "restituito"),
    "cancelled": ("cancelled", "annullato"),
    "undone": ("reversed", "stornato"),
    "held": ("held", "trattenuto"),
    "invited": ("waiting to be claimed", "in attesa di ritiro"),
}

#: HIST names each movement by what it was, in the reader's language (never a raw kind).
KIND_WORDS: dict[str, tuple[str, str]] = {
    "topup": ("Top-up", "Ricarica"),
    "payment": ("Payment", "Pagamento"),
    "withdrawal": ("Payout", "Prelievo"),
    "adjustment": ("Correction", "Rettifica"),
    "fee": ("Fee", "Commissione"),
    "reward": ("Task paid", "Compenso"),
    "bonus": ("Bonus", "Bonus"),
    "task": ("Task", "Incarico"),
    "paywall": ("Reading", "Lettura"),
    "settlement": ("Earnings", "Incasso"),
    "tap": ("Fare", "Corsa"),
    "checkout": ("Purchase", "Acquisto"),
    "refund": ("Refund", "Rimborso"),
}
_MOVEMENT = ("Movement", "Movimento")


def say(key: str, lang: Lang, **params: object) -> str:
    """The reply `key` in `lang`, filled in."""
    english, italian = MESSAGES[key]
    return (italian if lang is Lang.IT else english).format(**params)


def word(status: str, lang: Lang) -> str:
    """A send's status as a word; one we have no word for reads "settled", never raw."""
    english, italian = STATUS_WORDS.get(status, ("settled", "concluso"))
    return italian if lang is Lang.IT else english


def kind_word(kind: str, lang: Lang) -> str:
    english, italian = KIND_WORDS.get(kind, _MOVEMENT)
    return italian if lang is Lang.IT else english


def amount(units: int, asset: Asset, lang: Lang) -> str:
    """An amount as the reader writes it ("€5.50", "5,50 €"), through `obolo.locale`; the
    no-break spaces CLDR puts around a currency become plain ones, which GSM-7 has."""
    return locale.money(units, asset, str(lang)).replace("\u00a0", " ").replace("\u202f", " ")


def moment(ns: int, lang: Lang) -> str:
    """A date and time (UTC) as the reader writes it: "3 Dec 2026, 09:05", "3 dic 2026, 09:05"."""
    return locale.date_time(ns, str(lang)).replace("\u00a0", " ").replace("\u202f", " ")


def day(ns: int, lang: Lang) -> str:
    """A day for a history line: "3 Dec", "3 dic"."""
    return locale.short_day(ns, str(lang)).replace("\u00a0", " ").replace("\u202f", " ")


# GSM 03.38: the basic set costs one septet a character, the extension table two.
_GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENDED = "^{}\\[~]|€\f"


def gsm7_length(text: str) -> int | None:
    """Septets `text` needs in GSM-7, or None if it needs UCS-2 (then 70 characters a message)."""
    length = 0
    for char in text:
        if char in _GSM7_BASIC:
            length += 1
        elif char in _GSM7_EXTENDED:
            length += 2
        else:
            return None
    return length


def fits_one_sms(text: str) -> bool:
    length = gsm7_length(text)
    return length is not None and length <= 160


# What GSM-7 lacks, as the nearest it has: typographic quotes and dashes, the ellipsis.
_PLAIN = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201c": '"', "\u201d": '"', "\u201e": '"',
    "\u2013": "-", "\u2014": "-", "\u2026": "...", "\u00ab": '"', "\u00bb": '"', "\u00a0": " ", "\u202f": " ",
})  # fmt: skip


def gsm7_plain(text: str) -> str:
    """Someone else's words (a site's name, an article's title) in GSM-7: quotes and dashes
    made plain, accents GSM-7 lacks dropped ("ç" → "c"), anything else "?"; one line."""
    out = []
    for char in " ".join(text.translate(_PLAIN).split()):
        if gsm7_length(char) is not None:
            out.append(char)
            continue
        base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
        out.append(base if base and gsm7_length(base) is not None else "?")
    return "".join(out)


def _cut(text: str, septets: int) -> str:
    """`text` (GSM-7) within `septets`, ending ".." when cut; "" when not even that fits."""
    if (gsm7_length(text) or 0) <= septets:
        return text
    if septets < 4:
        return ""
    kept, used = [], 0
    for char in text:
        used += gsm7_length(char) or 1
        if used > septets - 2:
            break
        kept.append(char)
    return "".join(kept).rstrip() + ".."


def history(lines: list[tuple[str, str]], lang: Lang, limit: int = 160) -> str:
    """HIST's reply: each line a fixed part (day, amount, kind) and a part that may be cut
    (a site and what was bought), fitted into one GSM-7 message: the room left is shared
    out, a short part keeping all of its own and the long ones the rest, equally."""
    if not lines:
        return say("history_empty", lang)
    fixed = gsm7_length(say("history", lang, lines="; ".join(head for head, _ in lines))) or 0
    fixed += sum(1 for _, tail in lines if tail)  # the space before each tail
    room = limit - fixed
    tails = sorted((gsm7_length(tail) or 0, i) for i, (_, tail) in enumerate(lines) if tail)
    share: dict[int, int] = {}
    for position, (length, i) in enumerate(tails):
        share[i] = min(length, max(0, room) // (len(tails) - position))
        room -= share[i]
    shown = []
    for i, (head, tail) in enumerate(lines):
        cut = _cut(tail, share.get(i, 0))
        shown.append(f"{head} {cut}" if cut else head)
    return say("history", lang, lines="; ".join(shown))
