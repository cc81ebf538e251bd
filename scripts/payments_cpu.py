"""Server CPU per answer, `POST /v1/payments` beside the bare `GET /healthz`, for one or
more source trees served side by side: the figure noise on a shared host does not move
much, so two versions of the code can be compared in one run.

    python scripts/payments_cpu.py --trees before=/tmp/before,after=. [--database-url URL]

Each tree (a checkout holding `src/obolo`) is served by `obolo serve --no-jobs` over a fresh
database (SQLite, or a PostgreSQL database made for the run), its people signed up and
funded; then, round after round, each server gets a bare phase and a payments phase from
the bench's generator (`obolo bench payments`'s, in a process of its own), alternating
between the servers so that a change of load on the host falls on every tree alike. CPU is
user + system of the server process, from /proc, divided by the answers of the phase.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import multiprocessing
import os
import secrets
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from obolo.entrypoints.bench.load_bench import fresh_database
from obolo.entrypoints.bench.payments_bench import cpu_seconds, sign_up
from obolo.entrypoints.bench.payments_load import Payer, PhaseSpec, run_phase
from obolo.entrypoints.bench.server_process import wait_until_serving
from obolo.entrypoints.demo_sites import free_port


@contextmanager
def serving(tree: Path, url: str, log: Path) -> Iterator[tuple[int, int]]:
    """`obolo serve --no-jobs` of the code in `tree`: (port, pid)."""
    port = free_port()
    environment = {
        **os.environ,
        "PYTHONPATH": f"{tree / 'src'}:{tree}",
        "OBOLO_DATABASE_URL": url,
        "OBOLO_METRICS_TOKEN": secrets.token_urlsafe(24),
        "OBOLO_ADMIN_TOKEN": secrets.token_urlsafe(24),
    }
    command = [sys.executable, "-c", "from obolo.entrypoints.cli import app; app()", "serve"]
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*command, "--port", str(port), "--no-jobs"], env=environment, stdout=output, stderr=output
        )
        try:
            wait_until_serving(process, f"http://127.0.0.1:{port}", log)
            yield port, process.pid
        finally:
            process.terminate()
            process.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--trees", required=True, help="label=path,label=path")
    parser.add_argument("--database-url", help="a PostgreSQL server (else SQLite)")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=6)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--people", type=int, default=50)
    arguments = parser.parse_args()
    trees = {
        label: Path(path).resolve() for label, path in (p.split("=", 1) for p in arguments.trees.split(","))
    }
    totals = {(label, phase): [0.0, 0, 0.0] for label in trees for phase in ("bare", "pay")}
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="obolo-payments-cpu-")))
        generator = stack.enter_context(
            concurrent.futures.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
        )
        servers = {}
        for label, tree in trees.items():
            url = stack.enter_context(fresh_database(arguments.database_url))
            port, pid = stack.enter_context(serving(tree, url, folder / f"{label}.log"))
            cast = sign_up(f"http://127.0.0.1:{port}", arguments.people, secrets.token_hex(4))
            payers = tuple(Payer(token, cast[(i + 1) % len(cast)][0]) for i, (_, token, _) in enumerate(cast))
            servers[label] = (port, pid, payers)
        for number in range(arguments.rounds):
            for label, (port, pid, payers) in servers.items():
                for phase in ("bare", "pay"):
                    spec = PhaseSpec("127.0.0.1", port, arguments.connections, arguments.seconds)
                    if phase == "pay":
                        tag = f"{label}-{number}-{secrets.token_hex(4)}"
                        spec = PhaseSpec(
                            "127.0.0.1",
                            port,
                            arguments.connections,
                            arguments.seconds,
                            payers,
                            "0.01",
                            "EUR",
                            tag,
                        )
                    before = cpu_seconds(pid)
                    result = generator.submit(run_phase, spec).result()
                    used = cpu_seconds(pid) - before
                    answered = len(result.latencies_ms)
                    refused = {s: n for s, n in result.statuses.items() if s == 0 or s >= 400}
                    total = totals[(label, phase)]
                    total[0] += used
                    total[1] += answered
                    total[2] += result.seconds
                    print(
                        f"round {number} {label} {phase}: {answered / result.seconds:,.0f}/s, "
                        f"{used * 1000 / max(1, answered):.2f} ms CPU an answer {refused or ''}",
                        flush=True,
                    )
    for label in trees:
        (bare_cpu, bare_n, bare_s), (pay_cpu, pay_n, pay_s) = totals[(label, "bare")], totals[(label, "pay")]
        bare, pay = bare_cpu * 1000 / max(1, bare_n), pay_cpu * 1000 / max(1, pay_n)
        print(
            f"{label}: payment {pay:.2f} ms CPU, bare {bare:.2f} ms, above bare {pay - bare:.2f} ms; "
            f"{pay_n / pay_s:,.0f} payments/s beside {bare_n / bare_s:,.0f} bare"
        )


if __name__ == "__main__":
    main()
