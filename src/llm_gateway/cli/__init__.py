"""The ``llm-gateway`` command. Each group of subcommands lives in its own module and registers
itself on :data:`app` when imported here."""

from llm_gateway.cli import (
    alerts,
    bench,
    compare_cmd,
    config_cmds,
    cost_report,
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
    "compare_cmd",
    "config_cmds",
    "cost_report",
    "db",
    "faults",
    "ledger",
    "records",
    "redis_stats",
    "serve",
    "simulate",
]
