"""The record store's contract, on SQLite and on PostgreSQL alike."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from llm_gateway.storage import migrate, queries
from llm_gateway.storage.records import LedgerRow, TraceRecord
from llm_gateway.storage.retention import RetentionJob
from llm_gateway.storage.store import RecordStore


def row(n: int, *, at: datetime | None = None, **values: object) -> LedgerRow:
    base: dict[str, object] = {
        "id": f"req{n:029d}",
        "at": at or datetime.now(UTC),
        "trace_id": f"trace{n}",
        "node": "writer",
        "status": "ok",
        "cost_usd": Decimal("0.000123456789012345"),
        "cost_source": "provider",
        "latency_ms": float(n),
        "model": "claude-sonnet",
        "provider": "openrouter",
        "attempts": 1,
        "input_tokens": 10,
        "output_tokens": 20,
        "capabilities": "reasoning,streaming",
    }
    base.update(values)
    return LedgerRow(**base)  # type: ignore[arg-type]


async def test_migrations_go_up_and_down(db_url: str) -> None:
    assert await asyncio.to_thread(migrate.current_revision, db_url) is None
    await asyncio.to_thread(migrate.upgrade, db_url)
    head = migrate.head_revision()
    assert await asyncio.to_thread(migrate.current_revision, db_url) == head
    store = RecordStore.open(db_url)
    try:
        async with store.engine.connect() as connection:
            tables = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
        assert {"ledger", "traces", "admin_state", "audit_log", "config_applied"} <= tables
    finally:
        await store.aclose()
    await asyncio.to_thread(migrate.downgrade, db_url, "base")
    assert await asyncio.to_thread(migrate.current_revision, db_url) is None
    store = RecordStore.open(db_url)
    try:
        async with store.engine.connect() as connection:
            tables = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
        assert not {"ledger", "traces", "admin_state"} & tables
    finally:
        await store.aclose()


async def test_ledger_insert_is_idempotent_and_costs_exact(store: RecordStore) -> None:
    rows = [row(i) for i in range(50)]
    assert await store.insert_ledger(rows) == 50
    await store.insert_ledger([*rows[:20], row(50)])  # a replayed batch, plus one new row
    now = datetime.now(UTC)
    page = await queries.ledger_page(
        store, start=now - timedelta(hours=1), end=now + timedelta(hours=1), limit=1000
    )
    assert len(page) == 51
    assert {p["cost_usd"] for p in page} == {"0.000123456789012345"}
    metrics = await queries.trace_metrics(store, 1)
    assert metrics["request_count"] == 51
    assert Decimal(metrics["total_cost_usd"]) == Decimal("0.000123456789012345") * 51


async def test_metrics_follow_the_guides_fields_and_filters(store: RecordStore) -> None:
    rows = [row(i, latency_ms=float(i + 1), ttft_ms=5.0) for i in range(90)]
    rows += [row(100 + i, status="error", error_type="timeout", model="gpt-4o") for i in range(10)]
    rows.append(row(200, node="formatter", fallback_used=True, model="gpt-4o"))
    await store.insert_ledger(rows)
    metrics = await queries.trace_metrics(store, 1)
    assert metrics["request_count"] == 101
    assert metrics["error_count"] == 10
    assert metrics["error_rate"] == pytest.approx(10 / 101)
    assert metrics["model_distribution"] == {"claude-sonnet": 90, "gpt-4o": 11}
    assert metrics["node_distribution"] == {"writer": 100, "formatter": 1}
    assert metrics["capability_usage"] == {"reasoning": 101, "streaming": 101}
    assert metrics["fallback_rate"] == pytest.approx(1 / 101)
    assert metrics["avg_ttft_ms"] == pytest.approx(5.0)
    assert 85 <= metrics["p95_duration_ms"] <= 110
    writer_only = await queries.trace_metrics(store, 1, node="formatter")
    assert writer_only["request_count"] == 1
    by_model = await queries.trace_metrics(store, 1, model="gpt-4o")
    assert by_model["request_count"] == 11 and by_model["error_count"] == 10
    old = await queries.trace_metrics(store, 0.0001)
    assert old["request_count"] <= 101


async def test_ledger_pages_by_cursor_in_time_order(store: RecordStore) -> None:
    start = datetime.now(UTC) - timedelta(minutes=30)
    await store.insert_ledger([row(i, at=start + timedelta(seconds=i % 7)) for i in range(25)])
    seen: list[str] = []
    async for page in queries.iter_ledger(
        store, start=start, end=start + timedelta(hours=1), page=10
    ):
        seen.extend(p["id"] for p in page)
    assert len(seen) == 25 and len(set(seen)) == 25
    counted = await queries.ledger_count(
        store, start=start, end=start + timedelta(hours=1), node=None, model=None
    )
    assert counted == 25


async def test_admin_state_and_its_audit_entry_commit_together(store: RecordStore) -> None:
    audit = {
        "id": "a" * 32,
        "at": datetime.now(UTC).isoformat(),
        "actor": "ops",
        "action": "override.set",
        "target": "writer",
        "before": None,
        "after": {"model_id": "gpt-4o"},
        "client": None,
        "forced": False,
        "detail": None,
    }
    await store.apply_admin_change([("override", "writer", {"model_id": "gpt-4o"})], audit)
    assert await store.load_state("override") == {"writer": {"model_id": "gpt-4o"}}
    # A second change whose audit entry cannot be stored (duplicate id) leaves nothing behind.
    with pytest.raises(IntegrityError):
        await store.apply_admin_change([("override", "formatter", {"model_id": "x"})], audit)
    assert await store.load_state("override") == {"writer": {"model_id": "gpt-4o"}}
    entries = await store.list_audit()
    assert [e["action"] for e in entries] == ["override.set"]
    await store.apply_admin_change([("override", "writer", None)], None)
    assert await store.load_state("override") == {}


async def test_traces_are_kept_per_request_and_grouped_by_trace(store: RecordStore) -> None:
    now = datetime.now(UTC)
    records = [
        TraceRecord(
            f"r{i}",
            "shared",
            now + timedelta(milliseconds=i),
            "writer",
            "m",
            True,
            "ok",
            1.0,
            {"trace_id": "shared", "n": i},
        )
        for i in range(3)
    ]
    await store.insert_traces(records)
    await store.insert_traces(records)  # replay: nothing doubled
    trace = await queries.get_trace(store, "shared")
    assert trace is not None
    assert trace["request_count"] == 3
    assert [r["n"] for r in trace["requests"]] == [2, 1, 0]
    assert await queries.get_trace(store, "missing") is None
    listed = await queries.list_traces(store, 1, 10, node="writer")
    assert len(listed) == 3


async def test_retention_removes_old_rows_in_batches(store: RecordStore) -> None:
    old = datetime.now(UTC) - timedelta(days=2)
    await store.insert_ledger([row(i, at=old) for i in range(2500)] + [row(9999)])
    await store.insert_traces(
        [TraceRecord(f"o{i}", "t", old, "writer", None, True, "ok", 1.0, {}) for i in range(1200)]
    )
    job = RetentionJob(store, trace_hours=24, ledger_days=1)
    removed = await job.run_once()
    assert removed["traces"] == 1200
    assert removed["ledger"] == 2500
    metrics = await queries.trace_metrics(store, 24 * 30)
    assert metrics["request_count"] == 1


async def test_postgresql_ledger_is_partitioned_by_month(pg_url: str) -> None:
    await asyncio.to_thread(migrate.upgrade, pg_url)
    store = RecordStore.open(pg_url)
    try:
        from llm_gateway.storage.retention import ensure_partitions

        created = await ensure_partitions(store)
        assert len(created) == 3
        assert await ensure_partitions(store) == []
        await store.insert_ledger([row(1)])
        async with store.engine.connect() as connection:
            where = await connection.scalar(
                text("SELECT tableoid::regclass::text FROM ledger LIMIT 1")
            )
        now = datetime.now(UTC)
        assert where == f"ledger_y{now.year:04d}m{now.month:02d}"
        # Months entirely past retention are dropped whole.
        job = RetentionJob(store, trace_hours=1, ledger_days=1)
        await job.run_once(now=now + timedelta(days=200))
        async with store.engine.connect() as connection:
            left = await connection.scalar(text("SELECT count(*) FROM ledger"))
        assert left == 0
    finally:
        await store.aclose()
