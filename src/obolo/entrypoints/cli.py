"""The `obolo` command."""

import typer

app = typer.Typer(no_args_is_help=True, help="Obolo: micropayments on one exact ledger.")


@app.command()
def version() -> None:
    """Print the version."""
    from obolo import __version__

    typer.echo(__version__)
