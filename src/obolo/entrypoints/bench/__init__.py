"""`obolo bench ...`: measured figures, each beside a baseline taken in the same run."""

import typer

bench_app = typer.Typer(no_args_is_help=True, help="Benchmarks: our figure beside a baseline, and the ratio.")
