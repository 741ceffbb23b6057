"""``llm-gateway redis-stats``: keys and memory in Redis by family, for this deployment's
prefix (``REDIS_URL``, ``GATEWAY_REDIS_PREFIX``), and whether every unbounded family expires."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from llm_gateway.cli.app import app
from llm_gateway.cli.db import fail
from llm_gateway.state.base import StateUnavailable
from llm_gateway.state.stats import BOUNDED_WITHOUT_TTL, Family, redis_usage


@app.command("redis-stats")
def redis_stats(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")] = False,
) -> None:
    """Keys and memory in Redis by family (this deployment's prefix)."""
    from llm_gateway.settings import get_settings
    from llm_gateway.state.redis_store import RedisStateStore

    settings = get_settings()
    if settings.REDIS_URL is None:
        fail("REDIS_URL is not set: this gateway keeps its shared state in one process's memory")
    store = RedisStateStore(
        settings.REDIS_URL.get_secret_value(),
        prefix=settings.GATEWAY_REDIS_PREFIX,
        cluster=settings.GATEWAY_REDIS_CLUSTER,
    )

    async def read() -> dict[str, Family]:
        try:
            await store.ping()
            return await redis_usage(store.client, store.key())
        finally:
            await store.aclose()

    try:
        families = asyncio.run(read())
    except StateUnavailable as exc:
        fail(str(exc))
    if as_json:
        typer.echo(json.dumps({n: vars_of(f) for n, f in sorted(families.items())}, indent=2))
        return
    table = Table(title=f"Redis {store.description} — prefix {store.key()}")
    for column in ("family", "keys", "bytes (est.)", "without TTL"):
        table.add_column(column, justify="left" if column == "family" else "right")
    for name, family in sorted(families.items()):
        unbounded = family.without_ttl and name not in BOUNDED_WITHOUT_TTL
        table.add_row(
            name,
            f"{family.keys:,}",
            f"{family.bytes:,}",
            f"[red]{family.without_ttl:,}[/]" if unbounded else f"{family.without_ttl:,}",
        )
    Console().print(table)


def vars_of(family: Family) -> dict[str, int]:
    return {"keys": family.keys, "bytes": family.bytes, "without_ttl": family.without_ttl}
