"""The ``llm-gateway`` command. Each group of subcommands lives in its own module and registers
itself on :data:`app` when imported here."""

from llm_gateway.cli import (
    alerts,
    bench,
    config_cmds,
    db,
    faults,
    ledger,
    records,
    redis_stats,
    serve,
    simulate,
)
from llm_gateway.cli.app import app

__all__ = [
    "alerts",
    "app",
    "bench",
    "config_cmds",
    "db",
    "faults",
    "ledger",
    "records",
    "redis_stats",
    "serve",
    "simulate",
]
