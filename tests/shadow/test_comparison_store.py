"""Comparison rows in the record store, on SQLite and the real PostgreSQL: the migration makes
the table, rows go in through the writer's queue (exact costs), read back newest first, and a
store that refuses keeps them queued (bounded) for the next round."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from tests.storage.conftest import own_pg_database

from llm_gateway.storage.migrate import downgrade, upgrade
from llm_gateway.storage.shadow_queries import comparison_rows, shadow_spend
from llm_gateway.storage.shadow_rows import ComparisonQueue, ShadowComparison
from llm_gateway.storage.spool import Spool
from llm_gateway.storage.store import RecordStore
from llm_gateway.storage.writer import RecordWriter

NOW = datetime.now(UTC)


def comparison(i: int, *, node: str = "writer", minutes_ago: float = 0) -> ShadowComparison:
    return ShadowComparison(
        id=f"cmp-{i}",
        at=NOW - timedelta(minutes=minutes_ago),
        node=node,
        purpose="writing",
        v1_model="gpt-4o-mini",
        v1_ok=True,
        v2_ok=True,
        v2_model="gemini-2.5-pro",
        v1_cost_usd=Decimal("0.000123456789012345"),
        v2_cost_usd=Decimal("0.033333333333333333"),
        v1_latency_ms=10.5,
        v2_latency_ms=20.25,
        v1_output_chars=10,
        v2_output_chars=12,
        similarity=0.5,
    )


@pytest.fixture(params=["sqlite", "postgresql"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[RecordStore]:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path}/shadow.sqlite3"
        await asyncio.to_thread(upgrade, url)
        opened = RecordStore.open(url)
        yield opened
        await opened.aclose()
        return
    async with own_pg_database() as url:
        await asyncio.to_thread(upgrade, url)
        opened = RecordStore.open(url)
        try:
            yield opened
        finally:
            await opened.aclose()


async def test_rows_through_the_writer_read_back_exactly(
    store: RecordStore, tmp_path: Path
) -> None:
    writer = RecordWriter(store, Spool(tmp_path / "spool"), interval_s=0.05)
    await writer.start()
    try:
        writer.comparisons.offer(comparison(1, minutes_ago=30))
        writer.comparisons.offer(comparison(2, node="formatter", minutes_ago=5))
        writer.comparisons.offer(comparison(3, minutes_ago=90))
        await writer.flush()
    finally:
        await writer.aclose()
    assert writer.comparisons.written == 3 and len(writer.comparisons) == 0

    hour_ago = NOW - timedelta(hours=1)
    rows = await comparison_rows(store, hour_ago)
    assert [r["id"] for r in rows] == ["cmp-2", "cmp-1"]  # newest first, the window only
    assert [r["id"] for r in await comparison_rows(store, hour_ago, node="writer")] == ["cmp-1"]
    assert rows[0]["arm"] == "shadow" and rows[0]["v2_latency_ms"] == 20.25
    spent = await shadow_spend(store, NOW - timedelta(hours=2))
    assert spent == Decimal("0.099999999999999999")  # exact, not a float sum


async def test_a_refusing_store_keeps_the_rows_queued(tmp_path: Path) -> None:
    unmigrated = RecordStore.open(f"sqlite+aiosqlite:///{tmp_path}/empty.sqlite3")
    queue = ComparisonQueue(max_rows=3)
    try:
        for i in range(2):
            queue.offer(comparison(i))
        with pytest.raises(Exception, match="shadow_comparisons"):
            await queue.deliver(unmigrated)
        assert len(queue) == 2 and queue.written == 0
        for i in range(2, 5):
            queue.offer(comparison(i))
        assert len(queue) == 3 and queue.shed == 2  # bounded: the oldest go first
    finally:
        await unmigrated.aclose()


def test_the_migration_goes_down_and_up(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/updown.sqlite3"
    upgrade(url)
    downgrade(url, "0003")
    upgrade(url)


async def test_retention_removes_comparisons_as_old_as_expired_ledger_rows(
    store: RecordStore,
) -> None:
    from llm_gateway.storage.retention import RetentionJob
    from llm_gateway.storage.shadow_rows import insert_comparisons

    await insert_comparisons(store, [comparison(1, minutes_ago=3 * 24 * 60), comparison(2)])
    removed = await RetentionJob(store, trace_hours=24, ledger_days=2).run_once()
    assert removed["shadow_comparisons"] == 1
    left = await comparison_rows(store, NOW - timedelta(days=30))
    assert [r["id"] for r in left] == ["cmp-2"]
