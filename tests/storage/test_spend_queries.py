"""Spend over time (``spend_cells``) and the trace filters, on SQLite and on PostgreSQL alike:
buckets aligned on the epoch, one group per bucket and key, exact decimal sums."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from tests.storage.test_contract import row

from llm_gateway.storage import queries
from llm_gateway.storage.records import TraceRecord
from llm_gateway.storage.spend_queries import SpendCell, spend_cells
from llm_gateway.storage.store import RecordStore

HOUR = 3600


def _hour_start(now: datetime) -> datetime:
    return now.replace(minute=0, second=0, microsecond=0)


async def test_spend_is_summed_exactly_per_bucket_and_node(store: RecordStore) -> None:
    base = _hour_start(datetime.now(UTC)) - timedelta(hours=3)
    rows = [
        row(1, at=base + timedelta(minutes=1), cost_usd=Decimal("0.000000000000000001")),
        row(2, at=base + timedelta(minutes=59, seconds=59), cost_usd=Decimal("1.25")),
        row(3, at=base + timedelta(hours=1, minutes=5), cost_usd=Decimal("0.1")),
        row(4, at=base + timedelta(hours=1, minutes=6), node="formatter", cost_usd=Decimal("2")),
        row(5, at=base + timedelta(hours=2), cost_usd=Decimal("0.3"), arm="shadow"),
        row(6, at=base - timedelta(seconds=1), cost_usd=Decimal("9")),  # before the window
    ]
    await store.insert_ledger(rows)
    cells = await spend_cells(
        store, start=base, end=base + timedelta(hours=3), bucket_s=HOUR, by="node"
    )
    start = int(base.timestamp())
    assert sorted(cells, key=lambda c: (c.bucket_start, c.key or "")) == [
        SpendCell(start, "writer", 2, Decimal("1.250000000000000001")),
        SpendCell(start + HOUR, "formatter", 1, Decimal("2")),
        SpendCell(start + HOUR, "writer", 1, Decimal("0.1")),
        SpendCell(start + 2 * HOUR, "writer", 1, Decimal("0.3")),  # shadow spend is spend
    ]


async def test_spend_by_model_with_a_node_filter_and_unanswered_requests(
    store: RecordStore,
) -> None:
    base = _hour_start(datetime.now(UTC)) - timedelta(hours=1)
    await store.insert_ledger(
        [
            row(1, at=base + timedelta(minutes=1), cost_usd=Decimal("0.5")),
            row(2, at=base + timedelta(minutes=2), model="gpt-4o", cost_usd=Decimal("0.25")),
            row(
                3, at=base + timedelta(minutes=3), model=None, status="refused", cost_usd=Decimal(0)
            ),
            row(4, at=base + timedelta(minutes=4), node="formatter", cost_usd=Decimal("7")),
        ]
    )
    cells = await spend_cells(
        store,
        start=base,
        end=base + timedelta(hours=1),
        bucket_s=15 * 60,
        by="model",
        node="writer",
    )
    start = int(base.timestamp())
    assert sorted(cells, key=lambda c: c.key or "") == [
        SpendCell(start, None, 1, Decimal(0)),
        SpendCell(start, "claude-sonnet", 1, Decimal("0.5")),
        SpendCell(start, "gpt-4o", 1, Decimal("0.25")),
    ]
    only = await spend_cells(
        store,
        start=base,
        end=base + timedelta(hours=1),
        bucket_s=60,
        by="node",
        model="claude-sonnet",
    )
    assert [(c.bucket_start - start, c.key, c.cost) for c in sorted(only, key=lambda c: c.key)] == [
        (240, "formatter", Decimal("7")),
        (60, "writer", Decimal("0.5")),
    ]


async def test_many_rows_sum_exactly(store: RecordStore) -> None:
    base = _hour_start(datetime.now(UTC)) - timedelta(hours=1)
    cost = Decimal("0.000123456789012345")
    await store.insert_ledger(
        [row(i, at=base + timedelta(seconds=i), cost_usd=cost) for i in range(300)]
    )
    cells = await spend_cells(
        store, start=base, end=base + timedelta(hours=1), bucket_s=HOUR, by="node"
    )
    assert cells == [SpendCell(int(base.timestamp()), "writer", 300, cost * 300)]


def _trace(n: int, status: str, at: datetime) -> TraceRecord:
    body = {"trace_id": f"t{n}", "status": status, "ok": status == "ok", "node_name": "writer"}
    return TraceRecord(
        request_id=f"r{n}",
        trace_id=f"t{n}",
        at=at,
        node="writer",
        model="claude-sonnet" if status != "refused" else None,
        ok=status == "ok",
        status=status,
        duration_ms=1.0,
        body=body,
    )


async def test_traces_filter_by_status(store: RecordStore) -> None:
    now = datetime.now(UTC)
    statuses = ["ok", "error", "refused", "ok", "cancelled"]
    await store.insert_traces(
        [_trace(i, s, now - timedelta(seconds=10 - i)) for i, s in enumerate(statuses)]
    )
    for status in ("ok", "error", "refused", "cancelled"):
        listed = await queries.list_traces(store, 1, 10, status=status)
        assert [t["status"] for t in listed] == [status] * statuses.count(status)
    failed = await queries.list_traces(store, 1, 10, errors_only=True)
    assert [t["trace_id"] for t in failed] == ["t4", "t2", "t1"]
