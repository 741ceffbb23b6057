"""The Typer application that every subcommand module registers on."""

import typer

app = typer.Typer(
    name="llm-gateway",
    help="A capability-aware LLM gateway: serve it, validate its config, pick models, simulate "
    "providers and benchmark it.",
    no_args_is_help=True,
    add_completion=False,
)
