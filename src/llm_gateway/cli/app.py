"""The Typer application that every subcommand module registers on.

Help screens are click's plain format (``rich_markup_mode=None``): flags read ``--json`` and
``--quick / --no-quick`` rather than carrying a ``<bool>`` type column.
"""

import typer

from llm_gateway import __version__

app = typer.Typer(
    name="llm-gateway",
    help="A capability-aware LLM gateway: serve it, validate its config, pick models, simulate "
    "providers and benchmark it.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"llm-gateway {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(
        False,
        "--version",
        callback=_print_version,
        is_eager=True,
        help="Print the version and exit.",
    ),
) -> None:
    """A capability-aware LLM gateway: serve it, validate its config, pick models, simulate
    providers and benchmark it."""
