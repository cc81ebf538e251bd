"""The microtask pages' messages in Italian, kept beside them (`task_pages`, templates
under `tasks/`) and merged into the pages' catalogue by `i18n`."""

from __future__ import annotations

TASKS_IT: dict[str, str] = {
    # choosing a side
    "Tasks": "Lavoretti",
    "Get small tasks done": "Fai svolgere piccoli lavori",
    "Post short paid tasks. The money is held when you post and paid to each worker the moment you "
    "approve their work.": (
        "Pubblica brevi lavori pagati. Il denaro è trattenuto quando pubblichi e pagato a ogni "
        "lavoratore nel momento in cui approvi il suo lavoro."
    ),
    "Post tasks": "Pubblica lavori",
    "Earn from small tasks": "Guadagna con piccoli lavori",
    "Do short tasks and be paid into your wallet as soon as the work is approved; withdraw any amount "
    "at any time.": (
        "Svolgi brevi lavori e ricevi il pagamento nel portafoglio appena il lavoro è approvato; "
        "preleva qualsiasi importo in qualsiasi momento."
    ),
    "Find work": "Trova lavoro",
    "This page is for employers only.": "Questa pagina è riservata ai committenti.",
    "This page is for workers only.": "Questa pagina è riservata ai lavoratori.",
    "Only the task's employer sees its submissions.": "Solo il committente del lavoro ne vede le consegne.",
    # statuses
    "open": "aperto",
    "cancelled": "annullato",
    "closed": "chiuso",
    "accepted": "accettato",
    "submitted": "consegnato",
    "approved": "approvato",
    "rejected": "rifiutato",
    "released": "liberato",
    "upheld": "confermato",
    "overturned": "ribaltato",
    # employer: list and post form
    "Your tasks": "I tuoi lavori",
    "Posted tasks": "Lavori pubblicati",
    "Task": "Lavoro",
    "To review": "Da rivedere",
    "Held": "Trattenuto",
    "Effective hourly pay": "Paga oraria effettiva",
    "{count} × {reward}": "{count} × {reward}",  # noqa: RUF001 (a times sign)
    "below the minimum": "sotto il minimo",
    "You have not posted a task yet.": "Non hai ancora pubblicato un lavoro.",
    "Post a task": "Pubblica un lavoro",
    "Posting holds the reward and the platform's fee for every assignment from your wallet; what nobody "
    "works for comes back when the task ends or you cancel it.": (
        "Pubblicando trattieni dal portafoglio il compenso e la commissione della piattaforma per ogni "
        "incarico; ciò per cui nessuno lavora torna indietro quando il lavoro finisce o lo annulli."
    ),
    "Title": "Titolo",
    "Instructions": "Istruzioni",
    "Reward per assignment": "Compenso per incarico",
    "What each worker earns, e.g. 0.50.": "Quanto guadagna ogni lavoratore, es. 0,50.",
    "Assignments": "Incarichi",
    "How many workers, 1 to 2,000.": "Quanti lavoratori, da 1 a 2.000.",
    "Time allowed (minutes)": "Tempo concesso (minuti)",
    "Deadline (UTC)": "Scadenza (UTC)",
    "Auto-approval after (hours)": "Approvazione automatica dopo (ore)",
    "Work you do not review in time is approved and paid.": (
        "Il lavoro che non rivedi in tempo viene approvato e pagato."
    ),
    "Qualification (optional)": "Requisiti (facoltativi)",
    "Minimum approval rate (%)": "Tasso di approvazione minimo (%)",
    "Minimum approved tasks": "Minimo di lavori approvati",
    "Post and hold the money": "Pubblica e trattieni il denaro",
    "Your task is posted; its money is held.": "Il lavoro è pubblicato; il suo denaro è trattenuto.",
    "A title of 1 to 200 characters.": "Un titolo da 1 a 200 caratteri.",
    "Instructions of 1 to 20,000 characters.": "Istruzioni da 1 a 20.000 caratteri.",
    "From 1 to 2,000 assignments.": "Da 1 a 2.000 incarichi.",
    "Between 1 minute and 7 days (10,080 minutes).": "Tra 1 minuto e 7 giorni (10.080 minuti).",
    "A deadline in the future, within a year.": "Una scadenza futura, entro un anno.",
    "At most 30 days (720 hours).": "Al massimo 30 giorni (720 ore).",
    "A rate from 0 to 100%.": "Un tasso da 0 a 100%.",
    "A whole number from 0.": "Un numero intero da 0.",
    "Write a whole number.": "Scrivi un numero intero.",
    # employer: one task
    "Money": "Denaro",
    "held for this task": "trattenuti per questo lavoro",
    "effective hourly pay ({count} answers)": "paga oraria effettiva ({count} risposte)",
    "Each assignment: the worker earns {reward}; you pay {hold} with the fee.": (
        "Ogni incarico: il lavoratore guadagna {reward}; tu paghi {hold} con la commissione."
    ),
    "{submitted} to review, {accepted} in progress, {approved} approved, {rejected} rejected, {open} not "
    "taken.": (
        "{submitted} da rivedere, {accepted} in corso, {approved} approvati, {rejected} rifiutati, "
        "{open} non presi."
    ),
    "This task pays {hourly} an hour, below the platform's minimum of {minimum}. A bonus of {bonus} per "
    "assignment would reach it.": (
        "Questo lavoro paga {hourly} l'ora, sotto il minimo della piattaforma di {minimum}. Un bonus di "
        "{bonus} per incarico lo raggiungerebbe."
    ),
    "Submissions to review": "Consegne da rivedere",
    "Select all": "Seleziona tutto",
    "Select none": "Deseleziona tutto",
    "took {time}": "impiegati {time}",
    "approved by itself in {time}": "approvata da sola tra {time}",
    "Reason (needed to reject)": "Motivo (necessario per rifiutare)",
    "Approve selected": "Approva i selezionati",
    "Reject selected": "Rifiuta i selezionati",
    "Nothing to review right now.": "Niente da rivedere per ora.",
    "{count} workers are on it now.": "{count} lavoratori ci stanno lavorando ora.",
    "Reviewed": "Rivisti",
    "Worker": "Lavoratore",
    "Reason": "Motivo",
    "dispute: {status}": "contestazione: {status}",
    "Pay a bonus": "Paga un bonus",
    "The platform's fee is added on top.": "La commissione della piattaforma si aggiunge.",
    "Pay the bonus": "Paga il bonus",
    "Cancel the task": "Annulla il lavoro",
    "Assignments nobody has taken give their money back now. Work already taken may still be handed "
    "in, and handed-in work must still be reviewed.": (
        "Gli incarichi che nessuno ha preso restituiscono ora il loro denaro. Il lavoro già preso può "
        "ancora essere consegnato, e quello consegnato va comunque rivisto."
    ),
    "Cancel this task?": "Annullare questo lavoro?",
    "Your review is saved: approved work is paid, rejected work gave its money back.": (
        "La revisione è salvata: il lavoro approvato è pagato, quello rifiutato ha restituito il denaro."
    ),
    "Bonus paid.": "Bonus pagato.",
    "The task is cancelled; money nobody is working for is back in your wallet.": (
        "Il lavoro è annullato; il denaro per cui nessuno lavora è tornato nel portafoglio."
    ),
    "The task was already closed.": "Il lavoro era già chiuso.",
    "A rejection needs a reason.": "Un rifiuto ha bisogno di un motivo.",
    "Choose at least one submission of this task.": "Scegli almeno una consegna di questo lavoro.",
    "Some of the chosen work was already reviewed; nothing was changed.": (
        "Parte del lavoro scelto era già stato rivisto; nulla è cambiato."
    ),
    "A bonus goes to work that was submitted.": "Un bonus va a un lavoro consegnato.",
    # workers
    "Your earnings and record": "I tuoi guadagni e la tua reputazione",
    "earned from tasks": "guadagnati con i lavori",
    "approval rate: {approved} approved, {rejected} rejected": (
        "tasso di approvazione: {approved} approvati, {rejected} rifiutati"
    ),
    "{amount} waiting for review.": "{amount} in attesa di revisione.",
    "Earnings are in your wallet at once.": "I guadagni arrivano subito nel portafoglio.",
    "Withdraw any amount": "Preleva qualsiasi importo",
    "Open tasks for you": "Lavori aperti per te",
    "You earn {amount}": "Guadagni {amount}",
    "effective hourly pay": "paga oraria effettiva",
    "time allowed: {time}": "tempo concesso: {time}",
    "until {date}": "fino al {date}",
    "Accept": "Accetta",
    "You already took part: open your assignment": "Hai già partecipato: apri il tuo incarico",
    "No open task for you right now.": "Nessun lavoro aperto per te al momento.",
    "Your assignments": "I tuoi incarichi",
    "{time} left": "restano {time}",
    "time is up": "tempo scaduto",
    "You have not taken an assignment yet.": "Non hai ancora preso un incarico.",
    "not known yet": "non ancora nota",
    "{amount} an hour": "{amount} l'ora",
    "{count} min": "{count} min",
    "{count} h": "{count} h",
    "{count} d": "{count} g",
    "Your assignment": "Il tuo incarico",
    "Your answer": "La tua risposta",
    "Submit the answer": "Consegna la risposta",
    "Approved by itself on {date} unless reviewed before.": (
        "Approvata da sola il {date} se non viene rivista prima."
    ),
    "Approved: {amount} paid to your wallet.": "Approvato: {amount} pagati nel portafoglio.",
    "Rejected: {reason}": "Rifiutato: {reason}",
    "Dispute the rejection": "Contesta il rifiuto",
    "Once, with a message for the operator. If the operator agrees with you, you are paid.": (
        "Una volta, con un messaggio per l'operatore. Se l'operatore ti dà ragione, sei pagato."
    ),
    "Message": "Messaggio",
    "Send the dispute": "Invia la contestazione",
    "The assignment is yours until the time allowed runs out.": (
        "L'incarico è tuo finché non scade il tempo concesso."
    ),
    "Your answer is in: paid when approved, or by itself if nobody reviews it.": (
        "Risposta consegnata: pagata quando è approvata, o da sola se nessuno la rivede."
    ),
    "Your dispute is with the operator.": "La tua contestazione è presso l'operatore.",
    "This task takes no more workers.": "Questo lavoro non accetta altri lavoratori.",
    "Every assignment of this task is taken.": "Tutti gli incarichi di questo lavoro sono presi.",
    "This task asks for a better record than yours.": (
        "Questo lavoro chiede una reputazione migliore della tua."
    ),
    "You cannot work on your own task.": "Non puoi lavorare a un tuo lavoro.",
    "Write 1 to 20,000 characters.": "Scrivi da 1 a 20.000 caratteri.",
    "This assignment was already submitted.": "Questo incarico è già stato consegnato.",
    "The time allowed for this assignment has passed.": "Il tempo concesso per questo incarico è scaduto.",
    "This rejection can no longer be disputed.": "Questo rifiuto non si può più contestare.",
    # operators
    "Task disputes": "Contestazioni dei lavori",
    "Worker: {worker} · employer: {employer} · opened {date}": (
        "Lavoratore: {worker} · committente: {employer} · aperta il {date}"
    ),
    "worth {amount}": "vale {amount}",
    "Rejected because:": "Rifiutato perché:",
    "The worker says:": "Il lavoratore dice:",
    "Overturn: pay the worker": "Ribalta: paga il lavoratore",
    "Uphold the rejection": "Conferma il rifiuto",
    "No open disputes.": "Nessuna contestazione aperta.",
    "Overturned: the worker is paid.": "Ribaltata: il lavoratore è pagato.",
    "Upheld: the rejection stands.": "Confermata: il rifiuto resta.",
    "That dispute was already decided.": "Quella contestazione è già stata decisa.",
    "No such dispute.": "Contestazione inesistente.",
    "The employer's wallet cannot pay this now; the dispute stays open.": (
        "Il portafoglio del committente ora non può pagare; la contestazione resta aperta."
    ),
}
