"""The `obolo` command: serve, migrate, check the books, benchmark."""

from __future__ import annotations

import typer

from obolo.entrypoints.bench import bench_app

app = typer.Typer(no_args_is_help=True, help="Obolo: micropayments on one exact ledger.")
db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
ledger_app = typer.Typer(no_args_is_help=True, help="The ledger.")
app.add_typer(db_app, name="db")
app.add_typer(ledger_app, name="ledger")
app.add_typer(bench_app, name="bench")

DB_HELP = "Database URL (default: OBOLO_DATABASE_URL, else sqlite:///obolo.db)."


@app.command()
def version() -> None:
    """Print the version."""
    from obolo import __version__

    typer.echo(__version__)


@db_app.command("upgrade")
def db_upgrade(db: str | None = typer.Option(None, "--db", help=DB_HELP)) -> None:
    """Apply every migration not yet applied."""
    from obolo.adapters.db.engine import database_url, make_engine
    from obolo.adapters.db.migrate import current_revision, upgrade

    engine = make_engine(db)
    upgrade(engine)
    typer.echo(f"{database_url(db)}: at revision {current_revision(engine)}")


@ledger_app.command("check")
def ledger_check(db: str | None = typer.Option(None, "--db", help=DB_HELP)) -> None:
    """Prove the books: transfers well formed, each asset sums to zero, every account's
    totals equal its transfers, no flag broken. Exit 0 only when all hold."""
    from rich.console import Console

    from obolo.adapters.db.engine import make_engine
    from obolo.ledger.check import check_ledger

    console = Console()
    violations = check_ledger(make_engine(db))
    for violation in violations:
        console.print(f"[red]violation[/red] {violation}", highlight=False)
    if violations:
        console.print(f"[red]{len(violations)} violation(s)[/red]")
        raise typer.Exit(1)
    console.print("[green]ledger check passed[/green]: every invariant holds")
