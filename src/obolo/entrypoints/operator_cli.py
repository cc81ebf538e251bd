"""The operator's commands: prove the audit trail (and, beside it, reconcile the books
with the outside world)."""

from __future__ import annotations

from pathlib import Path

import typer

audit_app = typer.Typer(no_args_is_help=True, help="The audit trail.")

DB_HELP = "Database URL (default: OBOLO_DATABASE_URL, else sqlite:///obolo.db)."


@audit_app.command("verify")
def audit_verify(
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    anchors: Path | None = typer.Option(  # noqa: B008 -- Typer declares options this way
        None, "--anchors", help="A file of anchors written by `obolo audit anchor` (kept off this database)."
    ),
) -> None:
    """Walk the hash chain of the audit trail. Exit 0 only if no entry was altered,
    inserted, reordered or removed, and (with --anchors) the chain meets every anchor: a
    trail rewritten with its head, by someone who could write the database, fails there."""
    from rich.console import Console

    from obolo.adapters.db.engine import make_engine
    from obolo.audit.model import Anchor
    from obolo.audit.service import verify

    console = Console()
    kept = []
    if anchors is not None:
        try:
            kept = [Anchor.parse(line) for line in anchors.read_text().splitlines() if line.strip()]
        except (OSError, ValueError) as error:
            console.print(f"[red]cannot read the anchors:[/red] {error}", highlight=False)
            raise typer.Exit(2) from error
    breaks = verify(make_engine(db), anchors=kept)
    for item in breaks:
        console.print(f"[red]broken[/red] at entry {item.seq}: {item.problem}", highlight=False)
    if breaks:
        raise typer.Exit(1)
    checked = f", {len(kept)} anchors met" if kept else ""
    console.print(f"[green]audit trail intact{checked}[/green]")


@audit_app.command("anchor")
def audit_anchor(
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    append: Path | None = typer.Option(  # noqa: B008 -- Typer declares options this way
        None, "--append", help="Also append the anchor line to this file (put it on other storage)."
    ),
) -> None:
    """Print the chain's head as one JSON line (seq, hash, time) to keep outside the
    database; `obolo audit verify --anchors FILE` checks the trail against such lines."""
    import time

    from obolo.adapters.db.engine import make_engine
    from obolo.audit.service import current_anchor

    line = current_anchor(make_engine(db), time.time_ns()).line()
    if append is not None:
        with append.open("a") as kept:
            kept.write(line + "\n")
    typer.echo(line)


@audit_app.command("list")
def audit_list(
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    limit: int = typer.Option(50, "--limit"),
    action: str | None = typer.Option(None, "--action", help="e.g. sign_in.failed"),
) -> None:
    """The newest entries first."""
    from datetime import UTC, datetime

    from rich.console import Console
    from rich.table import Table

    from obolo.adapters.db.engine import make_engine
    from obolo.audit.service import entries

    table = Table("seq", "at (UTC)", "actor", "action", "subject", "details", "address")
    for entry in entries(make_engine(db), limit=limit, action=action):
        at = datetime.fromtimestamp(entry.at // 1_000_000_000, UTC).strftime("%Y-%m-%d %H:%M:%S")
        table.add_row(str(entry.seq), at, entry.actor, entry.action, entry.subject, str(entry.details),
                      entry.address or "")  # fmt: skip
    Console().print(table)


def reconcile(
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    day: str | None = typer.Option(None, "--day", help="YYYY-MM-DD (UTC); default: everything so far."),
) -> None:
    """Compare the ledger with the card processor's and the bank's own reports and list
    every mismatch. Exit 0 only when they agree."""
    from datetime import UTC, datetime, timedelta

    from rich.console import Console
    from rich.table import Table

    from obolo.adapters.clock import NS_PER_SECOND
    from obolo.bootstrap import build
    from obolo.settlement.reconciliation import Reconciler

    platform = build(url=db)
    if day is None:
        since, until = 0, 2**62  # everything recorded
    else:
        start = datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=UTC)
        since = int(start.timestamp()) * NS_PER_SECOND
        until = int((start + timedelta(days=1)).timestamp()) * NS_PER_SECOND
    result = Reconciler(platform.engine, platform.ledger, platform.cards, platform.bank).run(since, until)
    console = Console()
    console.print(
        f"{result.charges} card charge(s), {result.payouts} bank payout(s) compared with the ledger"
    )
    if result.mismatches:
        table = Table("kind", "reference", "detail")
        for mismatch in result.mismatches:
            table.add_row(mismatch.kind.value, mismatch.key, mismatch.detail)
        console.print(table)
        console.print(f"[red]{len(result.mismatches)} mismatch(es)[/red]")
        raise typer.Exit(1)
    console.print("[green]reconciled[/green]: the ledger agrees with the processor and the bank")


def adjust_wallet(
    who: str = typer.Argument(..., help="The wallet's owner: user id, email or phone."),
    amount: str = typer.Argument(..., help="A positive decimal amount, e.g. 2.50"),
    reason: str = typer.Option(..., "--reason", help="Why (5-500 characters): kept in the audit trail."),
    operator: str = typer.Option(..., "--as", help="The operator's email (needs the operator role)."),
    debit: bool = typer.Option(False, "--debit", help="Take the amount out (default: credit it)."),
    asset: str = typer.Option("EUR", "--asset"),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
) -> None:
    """Correct a wallet by hand: one ledger transfer against the platform's adjustments
    account, with its reason in the audit trail."""
    from sqlalchemy import select

    from obolo.adapters.db.schema import users
    from obolo.bootstrap import build
    from obolo.identity.emails import email_key
    from obolo.identity.model import Role
    from obolo.money import Amount
    from obolo.wallets.adjustments import Direction, adjust

    platform = build(url=db)
    with platform.engine.connect() as connection:
        operator_id = connection.execute(
            select(users.c.id).where(users.c.email == email_key(operator))
        ).scalar_one_or_none()
    if operator_id is None or Role.OPERATOR not in platform.identity.get_user(operator_id).roles:
        typer.echo(f"{operator} is not an operator (obolo users grant EMAIL operator)", err=True)
        raise typer.Exit(2)
    direction = Direction.DEBIT if debit else Direction.CREDIT
    movement = adjust(
        platform.wallets,
        operator_id,
        who,
        Amount.parse(amount, platform.wallets.asset(asset)),
        direction,
        reason,
    )
    typer.echo(f"{direction.value} {amount} {asset} to {who}: movement {movement.id}")
