"""The `obolo` command: serve, migrate, check the books, benchmark."""

from __future__ import annotations

import os
import threading
from collections.abc import MutableMapping
from dataclasses import replace

import typer

from obolo.entrypoints.bench import bench_app
from obolo.entrypoints.operator_cli import adjust_wallet, audit_app, reconcile
from obolo.identity.hashing import below_recommended

app = typer.Typer(no_args_is_help=True, help="Obolo: micropayments on one exact ledger.")
db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
ledger_app = typer.Typer(no_args_is_help=True, help="The ledger.")
app.add_typer(db_app, name="db")
app.add_typer(ledger_app, name="ledger")
app.add_typer(bench_app, name="bench")
app.add_typer(audit_app, name="audit")
app.command()(reconcile)
ledger_app.command("adjust")(adjust_wallet)

DB_HELP = "Database URL (default: OBOLO_DATABASE_URL, else sqlite:///obolo.db)."
#: `serve --demo` without OBOLO_EGRESS_ALLOW: webhooks may go to a receiver on this machine.
DEMO_EGRESS_ALLOW = "127.0.0.1,::1,localhost"


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


@app.command()
def serve(
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8000, "--port"),
    demo: bool = typer.Option(
        False,
        "--demo",
        help="A local demo: create demo people, wallets and payments if missing, print texts to the "
        "log and serve the SMS simulator (unless OBOLO_SMS_AUTH_TOKEN is set). Never for real money.",
    ),
    magazine_port: int | None = typer.Option(
        None,
        "--magazine-port",
        help="Also serve the example Magazine on this port, paid through this server.",
    ),
    auction_port: int | None = typer.Option(
        None, "--auction-port", help="Also serve the example Auction House (checkout) on this port."
    ),
    workers: int = typer.Option(1, "--workers", min=1, help="API processes (run jobs with `obolo worker`)."),
    jobs: bool = typer.Option(True, "--jobs/--no-jobs", help="Run the periodic jobs in this process."),
) -> None:
    """Serve the API. On SQLite, migrations are applied on start; on PostgreSQL run
    `obolo db upgrade` first. With --workers N, N API processes share the port and no
    jobs run in them: start `obolo worker` beside them."""
    import dataclasses
    from pathlib import Path

    import uvicorn

    from obolo.adapters.db.engine import database_url, is_sqlite, make_engine
    from obolo.adapters.db.migrate import current_revision, head_revision
    from obolo.bootstrap import build
    from obolo.entrypoints.api.app import create_app
    from obolo.entrypoints.demo import demo_status, seed_demo
    from obolo.entrypoints.logs import configure
    from obolo.entrypoints.serving import server_options
    from obolo.settings import Settings

    if demo and workers > 1:
        # The demo's texts live in one process's memory: another process's simulator would
        # not show them. Demo mode is never switched on by the environment either.
        typer.echo("--demo runs in one process: leave out --workers", err=True)
        raise typer.Exit(2)
    configure(json=True)
    settings = dataclasses.replace(Settings.from_environment(), demo=demo)
    url = database_url(db)
    engine = make_engine(url)
    if not is_sqlite(engine) and current_revision(engine) != head_revision():
        typer.echo("the database schema is not up to date: run `obolo db upgrade` first", err=True)
        raise typer.Exit(2)
    engine.dispose()
    if workers > 1:
        if is_sqlite(make_engine(url)):
            from obolo.adapters.db.migrate import upgrade

            upgrade(make_engine(url))  # once, here, not racing in every process
        for line in demo_status(settings):
            typer.echo(line)
        serve_processes(url, host, port, workers)
        return
    if demo and "OBOLO_EGRESS_ALLOW" not in os.environ:
        # the demo's webhooks may go to a receiver on this machine; never without --demo
        settings = replace(settings, egress_allow=DEMO_EGRESS_ALLOW)
    if settings.egress_allow:
        typer.echo(
            f"outbound requests (webhooks, SMS) may reach these internal hosts: {settings.egress_allow}"
        )
    if below_recommended(settings):
        typer.echo("passwords are hashed below RFC 9106's recommended cost: fit for a test bench only")
    platform = build(settings, url=url)
    if demo:
        for line in seed_demo(platform):
            typer.echo(line)
    for line in demo_status(settings):
        typer.echo(line)
    from obolo.entrypoints.workers import start_in_background

    stop = start_in_background(platform) if jobs else threading.Event()
    if magazine_port is not None:
        from obolo.entrypoints.demo_sites import start_magazine_when_ready

        start_magazine_when_ready(
            f"http://{host}:{port}", magazine_port, Path(str(platform.engine.url.database or "obolo.db"))
        )
    if auction_port is not None:  # checkout: the Auction House example
        from obolo.entrypoints.demo_auction import start_auction_when_ready

        start_auction_when_ready(
            f"http://{host}:{port}", auction_port, Path(str(platform.engine.url.database or "obolo.db"))
        )
    typer.echo(f"obolo serving {url.split('@')[-1]} on http://{host}:{port} (API docs at /docs)")
    try:
        uvicorn.run(
            create_app(platform),
            host=host,
            port=port,
            log_level="info",
            access_log=False,
            **server_options(platform.settings),
        )
    finally:
        stop.set()


def unit_commits_for_processes(url: str, environ: MutableMapping[str, str]) -> bool:
    """Several processes on PostgreSQL commit each unit alone unless told otherwise: a
    batching writer holds its batch's account locks until its commit, so two of them take
    turns (measured: 0.3-0.8x one process; committing alone, 1.45-1.8x). SQLite's processes
    take turns on the file's one write lock anyway, so they keep batching. True if set here."""
    if url.startswith("sqlite") or "OBOLO_WRITE_BATCH" in environ:
        return False
    environ["OBOLO_WRITE_BATCH"] = "1"
    return True


def serve_processes(url: str, host: str, port: int, workers: int) -> None:
    """N API processes behind one port; each builds its platform from the environment.
    Their metrics are added up through a shared directory."""
    import os
    import tempfile

    import uvicorn

    from obolo.entrypoints.serving import server_options
    from obolo.settings import Settings

    os.environ["OBOLO_DATABASE_URL"] = url
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="obolo-metrics-"))
    if unit_commits_for_processes(url, os.environ):
        typer.echo("each API process commits each request alone (OBOLO_WRITE_BATCH=1): see docs/deploy.md")
    typer.echo(
        f"obolo serving {url.split('@')[-1]} on http://{host}:{port} with {workers} processes; no jobs here"
    )
    uvicorn.run(
        "obolo.entrypoints.api.app:from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        access_log=False,
        **server_options(Settings.from_environment()),
    )


@app.command()
def worker(
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    once: bool = typer.Option(False, "--once", help="Run what is due now, then exit."),
) -> None:
    """Run the periodic jobs (settlements, expiries, payouts, reconciliation, webhooks).
    Any number of workers may run at once: each job run is claimed with a lease."""
    import signal

    from obolo.bootstrap import build
    from obolo.entrypoints.logs import configure
    from obolo.entrypoints.workers import run_forever

    configure(json=True)
    platform = build(url=db, migrate=False)
    stop = threading.Event()
    if once:
        from obolo.entrypoints.workers import outbound_client, platform_jobs
        from obolo.jobs.service import JobRunner

        with outbound_client(platform) as client:
            ran = JobRunner(platform.engine, platform.clock, platform_jobs(platform, client)).run_due()
        for name, items, error in ran:
            typer.echo(f"{name}: {'failed: ' + str(error) if error else f'{items} item(s)'}")
        return
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        run_forever(platform, stop)
    except KeyboardInterrupt:
        stop.set()
    finally:
        platform.close()


users_app = typer.Typer(no_args_is_help=True, help="People.")
app.add_typer(users_app, name="users")


@users_app.command("grant")
def users_grant(
    email: str,
    role: str = typer.Argument(..., help="consumer, provider, employer, worker or operator"),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
) -> None:
    """Give a person a role (the only way to make an operator)."""
    from obolo.bootstrap import build
    from obolo.identity.model import Role

    platform = build(url=db)
    user = platform.identity.grant_role(email, Role(role))
    typer.echo(f"{user.email}: {', '.join(sorted(r.value for r in user.roles))}")


demo_app = typer.Typer(no_args_is_help=True, help="Example provider sites.")
app.add_typer(demo_app, name="demo")


@demo_app.command("magazine")
def demo_magazine(
    port: int = typer.Option(8001, "--port"),
    server: str = typer.Option("http://127.0.0.1:8000", "--server", help="The Obolo server."),
    store: str = typer.Option("magazine.db", "--store", help="The site's payment memory (SQLite)."),
) -> None:
    """Serve the Magazine behind the paywall, registering its provider account if missing;
    finished channels are claimed every minute, and every channel when it stops."""
    from pathlib import Path

    import uvicorn

    from obolo.entrypoints.demo_sites import build_magazine
    from obolo.sdk.claims import ClaimSender

    paywall, state = build_magazine(server, Path(store), f"http://127.0.0.1:{port}")
    claims = ClaimSender(paywall.book, server, state["claims_key"], every=60.0).start()
    typer.echo(
        f"the Magazine on http://127.0.0.1:{port} (provider {state['provider_id']}), paid through {server}"
    )
    try:
        uvicorn.run(paywall, host="127.0.0.1", port=port, log_level="info")
    finally:
        claims.stop()


@app.command()
def gate(
    upstream: str = typer.Option(
        ..., "--upstream", help="The site or API to price, e.g. http://127.0.0.1:3000."
    ),
    provider: str = typer.Option(..., "--provider", help="Your provider id."),
    prices: str = typer.Option(..., "--prices", help="A JSON file of prices and passes."),
    port: int = typer.Option(8080, "--port"),
    host: str = typer.Option("127.0.0.1", "--host"),
    server: str = typer.Option("http://127.0.0.1:8000", "--server", envvar="OBOLO_SERVER"),
    api_key: str | None = typer.Option(None, "--api-key", envvar="OBOLO_API_KEY", help="For claims."),
    store: str = typer.Option("gate.db", "--store", help="The gate's payment memory (SQLite)."),
) -> None:
    """Price any site or API: a reverse proxy with the paywall in front (the SDK's `obolo-gate`)."""
    from pathlib import Path

    from obolo.sdk.gate import serve

    serve(upstream, provider, Path(prices), port=port, host=host, server=server, api_key=api_key, store=store)


# tasks: the operator's console for disputes
tasks_app = typer.Typer(no_args_is_help=True, help="Microtasks: disputes for the operator.")
app.add_typer(tasks_app, name="tasks")


@tasks_app.command("disputes")
def tasks_disputes(db: str | None = typer.Option(None, "--db", help=DB_HELP)) -> None:
    """Disputes waiting for a decision, oldest first, with the rejection and the message."""
    from obolo.adapters.clock import iso
    from obolo.bootstrap import build

    platform = build(url=db)
    for d in platform.tasks.disputes():
        typer.echo(f"{d.assignment_id}  {iso(d.opened_at)}  task {d.task_id}")
        typer.echo(f"    rejected: {d.reason}\n    worker says: {d.message}")


@tasks_app.command("decide")
def tasks_decide(
    assignment_id: str,
    decision: str = typer.Argument(..., help="overturn (the worker is paid) or uphold"),
    operator: str = typer.Option(..., "--as", help="The deciding operator's email"),
    note: str | None = typer.Option(None, "--note"),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
) -> None:
    """Rule on a dispute as an operator."""
    from obolo.adapters.db.transactions import run_in_transaction
    from obolo.bootstrap import build
    from obolo.errors import OboloError
    from obolo.identity.lookup import find_user_id
    from obolo.identity.model import Role

    if decision not in ("overturn", "uphold"):
        raise typer.BadParameter("overturn or uphold", param_hint="DECISION")
    platform = build(url=db)
    user_id = run_in_transaction(platform.engine, lambda c: find_user_id(c, operator), read_only=True)
    if user_id is None or Role.OPERATOR not in platform.identity.get_user(user_id).roles:
        typer.echo(f"{operator} is not an operator", err=True)
        raise typer.Exit(2)
    try:
        ruled = platform.tasks.decide_dispute(user_id, assignment_id, decision == "overturn", note)
    except OboloError as error:
        typer.echo(f"{error.code}: {error.detail}", err=True)
        raise typer.Exit(1) from error
    typer.echo(f"{ruled.assignment_id}: {ruled.status}")


if __name__ == "__main__":
    app()
