"""The SMS simulator page in Italian (the texts in its thread are the SMS service's own, in
the number's language). Merged into the pages' catalogue (`i18n.CATALOGUE`)."""

from __future__ import annotations

SMS_SIMULATOR_IT: dict[str, str] = {
    "SMS simulator": "Simulatore SMS",
    "Simulated phone": "Telefono simulato",
    "no number chosen": "nessun numero scelto",
    "your number, e.g. +393331234567": "il tuo numero, es. +393331234567",
    "Send as number": "Invia come numero",
    "BAL, SEND 5 +39..., HELP": "SALDO, INVIA 5 +39..., AIUTO",
    "Message": "Messaggio",
    "Type as any phone number; the message goes through the same service as the gateway's webhook, and "
    "the reply appears in the thread, in the language of the number's account. Available only on local "
    "runs (console gateway).": (
        "Scrivi come un numero di telefono qualsiasi: il messaggio passa dallo stesso servizio del webhook "
        "del gateway, e la risposta compare nella conversazione, nella lingua del conto del numero. "
        "Disponibile solo in locale (gateway su console)."
    ),
    "{join} or {registra} opens a wallet for the number": (
        "{registra} o {join} apre un portafoglio per il numero"
    ),
    "{first} sets the first PIN; {change} changes it": "{first} imposta il primo PIN; {change} lo cambia",
    "PIN old new": "PIN vecchio nuovo",
    "{bal} or {saldo}: the balance; {hist} or {storico}: the last three movements": (
        "{saldo} o {bal}: il saldo; {storico} o {hist}: gli ultimi tre movimenti"
    ),
    "{send} or {invia}, then reply with the PIN": "{invia} o {send}, poi rispondi con il PIN",
    "{lang} or {lingua} chooses the language of the replies": (
        "{lingua} o {lang} sceglie la lingua delle risposte"
    ),
    "{undo} or {annulla} takes back a payment just sent; {stop} stops the messages; {help} or {aiuto} "
    "lists the commands": (
        "{annulla} o {undo} annulla un pagamento appena inviato; {stop} ferma i messaggi; {aiuto} o {help} "
        "elenca i comandi"
    ),
    "Demo people:": "Persone della demo:",
}
