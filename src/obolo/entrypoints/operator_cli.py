"""The operator's commands: prove the audit trail (and, beside it, reconcile the books
with the outside world)."""

from __future__ import annotations

import typer

audit_app = typer.Typer(no_args_is_help=True, help="The audit trail.")

DB_HELP = "Database URL (default: OBOLO_DATABASE_URL, else sqlite:///obolo.db)."


@audit_app.command("verify")
def audit_verify(db: str | None = typer.Option(None, "--db", help=DB_HELP)) -> None:
    """Walk the hash chain of the audit trail. Exit 0 only if no entry was altered,
    inserted, reordered or removed."""
    from rich.console import Console

    from obolo.adapters.db.engine import make_engine
    from obolo.audit.service import verify

    console = Console()
    breaks = verify(make_engine(db))
    for item in breaks:
        console.print(f"[red]broken[/red] at entry {item.seq}: {item.problem}", highlight=False)
    if breaks:
        raise typer.Exit(1)
    console.print("[green]audit trail intact[/green]")


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
