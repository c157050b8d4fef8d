"""Command line: a thin shell over the library (each command parses, calls, prints)."""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True, help="smsrelay: a self-hosted bulk SMS gateway.")


def main() -> None:
    app()
