"""`obolo bench ...`: measured figures, each beside a baseline taken in the same run."""

from __future__ import annotations

from pathlib import Path

import typer

bench_app = typer.Typer(no_args_is_help=True, help="Benchmarks: our figure beside a baseline, and the ratio.")


@bench_app.command("ledger")
def ledger(
    db: list[str] = typer.Option(  # noqa: B008 -- Typer declares options this way
        ["sqlite"], "--db", help="Database URL, repeatable; 'sqlite' means a fresh temp file."
    ),
    pg: str | None = typer.Option(
        None, "--pg", help="Also run on this PostgreSQL URL (skipped if unreachable)."
    ),
    n: int = typer.Option(40_000, "--n", help="Transfers per batched run."),
    singles: int = typer.Option(2_000, "--singles", help="Transfers in the one-per-commit run."),
    accounts: int = typer.Option(10_000, "--accounts"),
    output: Path | None = typer.Option(  # noqa: B008 -- Typer declares options this way
        Path("docs/benchmarks.md"), "--output", help="Markdown file whose '## Ledger' section is replaced."
    ),
) -> None:
    """Transfers per second through the ledger beside raw inserts of the same rows."""
    from rich.console import Console
    from rich.table import Table

    from obolo.entrypoints.bench.ledger_bench import (
        markdown,
        reachable,
        replace_section,
        resolve,
        run_database,
        targets,
        versions,
    )

    console = Console()
    urls = resolve(db + ([pg] if pg else []))
    runnable = []
    for url in urls:
        if url == "sqlite" or url.startswith("sqlite"):
            runnable.append("sqlite:///unused" if url == "sqlite" else url)
            continue
        problem = reachable(url)
        if problem:
            console.print(
                f"[yellow]skipping PostgreSQL at {url.split('@')[-1]}: not reachable ({problem})[/yellow]"
            )
        else:
            runnable.append(url)
    figures = []
    with console.status("benchmarking") as status:
        for url in runnable:
            figures += run_database(
                url, transfers=n, singles=singles, accounts=accounts, progress=lambda s: status.update(s)
            )
    table = Table(
        title="Ledger vs raw inserts of the same rows (SQLite WAL synchronous=FULL; PostgreSQL fsync on)"
    )
    for column in ("database", "mode", "accounts", "transfers", "ledger/s", "raw/s", "ratio"):
        table.add_column(column, justify="right" if column.endswith(("/s", "ratio", "transfers")) else "left")
    for f in figures:
        table.add_row(
            f.database,
            f.mode,
            f.mix,
            f"{f.transfers:,}",
            f"{f.ledger_tps:,.0f}",
            f"{f.raw_tps:,.0f}",
            f"{f.ratio:.0%}",
        )
    console.print(table)
    for name, ok, value in targets(figures):
        console.print(f"{'[green]PASS' if ok else '[red]FAIL'}[/] {name}: {value}")
    if output is not None:
        command = "obolo bench ledger" + "".join(f" --db {d}" for d in db) + (" --pg URL" if pg else "")
        command += f" --n {n} --singles {singles} --accounts {accounts}"
        urls_for_versions = [u for u in runnable if not u.startswith("sqlite")]
        section = markdown(figures, command, versions(urls_for_versions))
        existing = output.read_text() if output.exists() else ""
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(replace_section(existing, section))
        console.print(f"written to {output}")


@bench_app.command("paywall")
def paywall(
    payments: int = typer.Option(200_000, "--payments", help="Payments in the channel."),
    http: bool = typer.Option(True, "--http/--no-http", help="Also measure HTTP through the Magazine."),
    requests: int = typer.Option(300, "--requests", help="HTTP requests per round."),
    output: Path | None = typer.Option(  # noqa: B008 -- Typer declares options this way
        Path("docs/benchmarks.md"),
        "--output",
        help="Markdown file whose '## Paywall verifier' section is replaced.",
    ),
) -> None:
    """Offline payment verification per second beside bare SHA-256 of the same tokens."""
    import os
    import platform as host

    from obolo.entrypoints.bench.ledger_bench import replace_section
    from obolo.entrypoints.bench.paywall_bench import (
        ledger_writes_per_thousand_views,
        markdown,
        measure_http,
        measure_verifier,
    )

    figure = measure_verifier(payments)
    writes = ledger_writes_per_thousand_views()
    typer.echo(f"ledger transfers for {writes[1]:,} paid views: {writes[0]} (target <= 3)")
    web = measure_http(requests) if http else None
    if web is not None:
        typer.echo(
            f"HTTP: paid {web.paid_per_second:,.0f} req/s, unpriced {web.free_per_second:,.0f} req/s, "
            f"ratio {web.ratio:.2f} (target >= 0.6: {'PASS' if web.ratio >= 0.6 else 'FAIL'})"
        )
    wire = None
    if http:
        from obolo.entrypoints.bench.wire_bench import markdown as wire_markdown
        from obolo.entrypoints.bench.wire_bench import measure_wire

        other = measure_wire(requests)
        wire = wire_markdown(other)
        typer.echo(
            f"x402: {other.x402_ratio:.2f}, IETF Payment: {other.ietf_ratio:.2f} of unpriced (target >= 0.6)"
        )
        typer.echo(
            f"gate: paid {other.gate_paid_per_second:,.0f} req/s, "
            f"unpriced {other.gate_free_per_second:,.0f}, "
            f"ratio {other.gate_ratio:.2f} (target >= 0.5: {'PASS' if other.gate_ratio >= 0.5 else 'FAIL'})"
        )
    verdict = "PASS" if figure.ratio >= 0.25 else "FAIL"
    typer.echo(
        f"verifier: {figure.verified_per_second:,.0f} payments/s; "
        f"bare sha256: {figure.sha256_per_second:,.0f}/s; ratio {figure.ratio:.0%} (target >= 25%: {verdict})"
    )
    if output is not None:
        machine = f"{os.cpu_count()} cores, Python {host.python_version()}"
        section = markdown(figure, f"obolo bench paywall --payments {payments}", machine, writes, web, wire)
        existing = output.read_text() if output.exists() else ""
        output.write_text(replace_section(existing, section, heading="## Paywall verifier"))
        typer.echo(f"written to {output}")


# tasks
@bench_app.command("tasks")
def tasks(
    submissions: int = typer.Option(1_000, "--submissions", help="Submissions approved each way."),
    pg: str | None = typer.Option(
        None, "--pg", help="Also run on this PostgreSQL URL (a schema of its own)."
    ),
    output: Path | None = typer.Option(  # noqa: B008 -- Typer declares options this way
        Path("docs/benchmarks.md"), "--output", help="Markdown file whose '## Tasks' section is replaced."
    ),
) -> None:
    """Bulk approval (one ledger batch) beside approving one submission per review."""
    import os
    import platform as host

    from obolo.entrypoints.bench.ledger_bench import reachable, replace_section
    from obolo.entrypoints.bench.tasks_bench import markdown, measure

    figures = [measure(None, submissions)]
    if pg:
        problem = reachable(pg)
        if problem:
            typer.echo(f"skipping PostgreSQL: not reachable ({problem})")
        else:
            figures.append(measure(pg, submissions))
    for f in figures:
        verdict = "PASS" if f.bulk_commits == 1 else "FAIL"
        typer.echo(
            f"{f.database}: bulk {f.bulk_per_second:,.0f} approvals/s in {f.bulk_commits} commit(s) "
            f"({verdict}: one batch); one by one {f.single_per_second:,.0f}/s; ratio {f.ratio:.1f}x"
        )
    if output is not None:
        machine = f"{os.cpu_count()} cores, Python {host.python_version()}"
        command = f"obolo bench tasks --submissions {submissions}" + (" --pg URL" if pg else "")
        existing = output.read_text() if output.exists() else ""
        output.write_text(replace_section(existing, markdown(figures, command, machine), heading="## Tasks"))
        typer.echo(f"written to {output}")


# tap
@bench_app.command("tap")
def tap(
    rate: float = typer.Option(500, "--rate", help="Requests a second, for each endpoint."),
    seconds: float = typer.Option(10, "--seconds", help="How long each endpoint is loaded."),
    cards: int = typer.Option(3000, "--cards", help="Linked cards the taps rotate through."),
    runs: int = typer.Option(
        1, "--runs", min=1, help="Whole runs, each on a fresh server and database; the median is written."
    ),
    output: Path | None = typer.Option(  # noqa: B008 -- Typer declares options this way
        Path("docs/benchmarks.md"), "--output", help="Markdown file whose '## Tap' section is replaced."
    ),
) -> None:
    """Online taps per second and p50/p99 latency beside the bare /livez of the same server."""
    import os
    import platform as host

    from obolo.entrypoints.bench.ledger_bench import replace_section
    from obolo.entrypoints.bench.tap_bench import TARGET_P99_MS, markdown, run, server_p99

    results = []
    for number in range(1, runs + 1):
        bare, ready, taps = run(rate, seconds, cards)
        results.append((bare, ready, taps))
        if runs > 1:
            typer.echo(f"run {number} of {runs}")
        for phase in (bare, ready, taps):
            server = (
                f", server p50 {phase.p(0.5, phase.server_ms):.2f} ms p99 {server_p99(phase):.2f} ms"
                if phase.server_ms
                else ""
            )
            typer.echo(
                f"{phase.name}: {phase.ok:,} of {phase.sent:,} answered, {phase.per_second:,.0f}/s, "
                f"p50 {phase.p(0.5):.2f} ms p99 {phase.p(0.99):.2f} ms{server}, "
                f"server CPU {phase.cpu_ms_per_request:.2f} ms/request"
            )
        typer.echo(
            f"ratio taps/bare: throughput {taps.per_second / bare.per_second:.2f}, "
            f"p99 {taps.p(0.99) / bare.p(0.99):.1f}x, "
            f"server CPU {taps.cpu_ms_per_request / bare.cpu_ms_per_request:.1f}x; "
            f"declined taps {taps.declined}"
        )
    tails = [server_p99(taps) for _, _, taps in results]
    met = sum(tail <= TARGET_P99_MS for tail in tails)
    typer.echo(
        f"target server p99 <= {TARGET_P99_MS:.0f} ms at {rate:,.0f}/s: met in {met} of {runs} "
        f"({', '.join(f'{tail:.2f}' for tail in tails)} ms): {'PASS' if met == runs else 'FAIL'}"
    )
    if output is not None:
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        machine = (
            f"{os.cpu_count()} cores shared with other work (load average {load} after the run), "
            f"Python {host.python_version()}"
        )
        command = f"obolo bench tap --rate {rate:g} --seconds {seconds:g} --cards {cards} --runs {runs}"
        median = sorted(results, key=lambda result: server_p99(result[2]))[(runs - 1) // 2]
        section = markdown(*median, command, machine, rate, tails)
        existing = output.read_text() if output.exists() else ""
        output.write_text(replace_section(existing, section, heading="## Tap"))
        typer.echo(f"written to {output}")


# load
@bench_app.command("load")
def load(
    seconds: float = typer.Option(20, "--seconds", help="How long the mix runs."),
    clients: int = typer.Option(4, "--clients", min=1, help="Client processes, each one request at a time."),
    baseline_seconds: float = typer.Option(
        5, "--baseline-seconds", help="How long /healthz is loaded first."
    ),
    sqlite: bool = typer.Option(True, "--sqlite/--no-sqlite", help="Run on a fresh SQLite file."),
    pg: str | None = typer.Option(
        None,
        "--pg",
        help="Also run on this PostgreSQL server, in a database created and dropped for the run.",
    ),
    output: Path | None = typer.Option(  # noqa: B008 -- Typer declares options this way
        Path("docs/benchmarks.md"), "--output", help="Markdown file whose '## Load' section is replaced."
    ),
) -> None:
    """A mixed workload from several processes against `obolo serve`, beside its bare /healthz;
    then every wallet, the fees and the books checked against what the answers predict."""
    import os
    import platform as host

    from rich.console import Console
    from rich.table import Table

    from obolo.entrypoints.bench.ledger_bench import reachable, replace_section
    from obolo.entrypoints.bench.load_bench import HEADER, Run, markdown, run, table_rows

    console = Console()
    targets: list[str | None] = [None] if sqlite else []
    if pg:
        from obolo.adapters.db.engine import database_url

        problem = reachable(database_url(pg))
        if problem:
            console.print(
                f"[yellow]skipping PostgreSQL at {pg.split('@')[-1]}: not reachable ({problem})[/yellow]"
            )
        else:
            targets.append(pg)
    runs: list[Run] = []
    for target in targets:
        done = run(target, clients, seconds, baseline_seconds, progress=console.print)
        runs.append(done)
        table = Table(
            title=f"{done.database}: {done.clients} clients, {done.seconds:.1f} s, {done.people} people"
        )
        for column in HEADER:
            table.add_column(column, justify="left" if column in ("operation", "errors") else "right")
        for row in table_rows(done):
            table.add_row(*row)
        console.print(table)
        console.print(done.summary())
        for check in done.checks:
            console.print(f"{'[green]PASS' if check.ok else '[red]FAIL'}[/] {check.name}: {check.detail}")
    if output is not None and runs:
        load_average = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        machine = (
            f"{os.cpu_count()} cores shared with other work (load average {load_average} after the run), "
            f"Python {host.python_version()}"
        )
        command = f"obolo bench load --seconds {seconds:g} --clients {clients}" + (" --pg URL" if pg else "")
        existing = output.read_text() if output.exists() else ""
        output.write_text(replace_section(existing, markdown(runs, command, machine), heading="## Load"))
        console.print(f"written to {output}")
    if not all(r.ok for r in runs):
        console.print("[red]the money did not add up as predicted[/red]")
        raise typer.Exit(1)


# payments
@bench_app.command("payments")
def payments(
    connections: str = typer.Option("4,32", "--connections", help="Connection counts, comma-separated."),
    seconds: float = typer.Option(20, "--seconds", help="How long each phase loads the server."),
    people: int = typer.Option(50, "--people", min=2, help="Funded people paying each other."),
    workers: int = typer.Option(1, "--workers", min=1, help="`obolo serve` processes."),
    sqlite: bool = typer.Option(True, "--sqlite/--no-sqlite", help="Run on a fresh SQLite file."),
    database_url: str | None = typer.Option(
        None,
        "--database-url",
        help="Also run on this PostgreSQL server, in a database created and dropped for the run.",
    ),
    output: Path | None = typer.Option(  # noqa: B008 -- Typer declares options this way
        None, "--output", help="Markdown file whose '## Payments' section is replaced."
    ),
) -> None:
    """POST /v1/payments under closed-loop load beside the bare /healthz of the same server:
    payments/s, p50/p99, the ratios, fsyncs and SQL statements per payment; then every
    payment found moved exactly once and the books checked."""
    import os
    import platform as host

    from rich.console import Console
    from rich.table import Table

    from obolo.adapters.db.engine import database_url as resolved
    from obolo.entrypoints.bench.ledger_bench import reachable, replace_section
    from obolo.entrypoints.bench.payments_bench import HEADER, markdown, run, table_rows, targets

    console = Console(width=max(160, Console().width))
    counts = [int(part) for part in connections.split(",") if part.strip()]
    chosen: list[str | None] = [None] if sqlite else []
    if database_url:
        problem = reachable(resolved(database_url))
        if problem:
            console.print(f"[yellow]skipping PostgreSQL: not reachable ({problem})[/yellow]")
        else:
            chosen.append(database_url)
    runs = []
    for target in chosen:
        done = run(target, counts, seconds, people, workers, progress=console.print)
        runs.append(done)
        table = Table(title=f"{done.database}: {done.workers} server process(es), {done.people} people")
        for column in HEADER:
            table.add_column(column, justify="right")
        for row in table_rows(done):
            table.add_row(*row)
        console.print(table)
        for check in done.checks:
            console.print(f"{'[green]PASS' if check.ok else '[red]FAIL'}[/] {check.name}: {check.detail}")
        for name, ok, value in targets(done):
            console.print(f"{'[green]met' if ok else '[yellow]not met'}[/] {name}: {value}")
    if output is not None and runs:
        load_average = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        machine = (
            f"{os.cpu_count()} cores shared with other work (load average {load_average} after the run), "
            f"Python {host.python_version()}"
        )
        command = f"obolo bench payments --connections {connections} --seconds {seconds:g} --people {people}"
        command += (f" --workers {workers}" if workers > 1 else "") + ("" if sqlite else " --no-sqlite")
        command += " --database-url URL" if database_url else ""
        existing = output.read_text() if output.exists() else ""
        output.write_text(replace_section(existing, markdown(runs, command, machine), heading="## Payments"))
        console.print(f"written to {output}")
    if not all(r.ok for r in runs):
        console.print("[red]the money did not add up[/red]")
        raise typer.Exit(1)
