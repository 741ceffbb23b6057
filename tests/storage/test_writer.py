"""The record writer against real databases: a batch replayed after its commit is not counted
twice, a locked database does not hold the spool back, a row the database refuses (or a spool
entry that is no row) is set aside without holding back the others, and a spool that cannot be
written keeps the rows queued until it can."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import orjson
import pytest
from sqlalchemy import func, select

from llm_gateway.storage.migrate import upgrade
from llm_gateway.storage.records import LedgerRow
from llm_gateway.storage.schema import ledger
from llm_gateway.storage.spool import REJECTED, Spool
from llm_gateway.storage.store import RecordStore
from llm_gateway.storage.writer import RecordWriter


def _row(i: int, trace_id: str | None = None) -> LedgerRow:
    return LedgerRow(
        id=uuid.uuid4().hex,
        at=datetime.now(UTC),
        trace_id=trace_id or f"trace-{i}",
        node="default",
        status="ok",
        cost_usd=Decimal("0.000123") * i,
        cost_source="policy",
        latency_ms=1.5,
    )


async def _count(store: RecordStore) -> dict[str, int]:
    query = select(ledger.c.trace_id, func.count()).group_by(ledger.c.trace_id)
    async with store.engine.connect() as connection:
        return {trace: n for trace, n in (await connection.execute(query)).all()}


async def _until(predicate: Callable[[], bool], what: str, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


async def test_a_batch_replayed_after_its_commit_is_not_counted_twice(
    store: RecordStore, tmp_path: Path
) -> None:
    rows = [_row(i) for i in range(30)]
    writer = RecordWriter(store, Spool(tmp_path / "spool"), interval_s=0.02)
    await writer.start()
    for row in rows:
        assert writer.offer(row)
    await writer.flush()
    await writer.aclose()
    # A kill -9 between the commit and the removal of the spool file: the file is still there.
    Spool(tmp_path / "spool").write([row.to_json() for row in rows[:20]])
    again = RecordWriter(store, Spool(tmp_path / "spool"))
    await again.start()
    await again.aclose()
    assert await _count(store) == {row.trace_id: 1 for row in rows}
    assert again.stats.rows_written == 20 and again.stats.rows_rejected == 0
    assert not list((tmp_path / "spool").rglob("*.jsonl"))


async def test_a_locked_database_does_not_hold_the_spool_back(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/locked.sqlite3"
    await asyncio.to_thread(upgrade, url)
    store = RecordStore.open(url)
    writer = RecordWriter(store, Spool(tmp_path / "spool"), interval_s=0.02, spool_after_s=0.1)
    await writer.start()
    lock = sqlite3.connect(tmp_path / "locked.sqlite3", isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")
    try:
        writer.offer(_row(0))
        # Its delivery waits on the lock: overdue, it is spooled.
        await _until(lambda: writer.spool_files == 1, "the first batch to be spooled")
        assert writer.spool_files == 1
        rows = [_row(i) for i in range(1, 11)]
        for row in rows:
            writer.offer(row)
        # Written to disk while the delivery before them still waits for the database.
        await _until(lambda: writer.queue_depth == 0, "the queued rows to be spooled")
        spool = Spool(tmp_path / "spool")
        on_disk = {r.trace_id for f in spool.pending() for r in spool.read_rows(f)[0]}
        assert on_disk == {f"trace-{i}" for i in range(11)}
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    await writer.aclose()
    assert await _count(store) == {f"trace-{i}": 1 for i in range(11)}
    await store.aclose()


async def test_a_row_the_database_refuses_is_set_aside_and_the_others_delivered(
    pg_url: str, tmp_path: Path
) -> None:
    await asyncio.to_thread(upgrade, pg_url)
    store = RecordStore.open(pg_url)
    spool = Spool(tmp_path / "spool")
    # An entry a crash or an older version could leave: JSON, but no ledger row.
    spool.write([{"id": "not-a-row"}, _row(0).to_json()])
    writer = RecordWriter(store, spool, interval_s=0.02)
    await writer.start()
    refused = _row(1, trace_id="t" * 200)  # longer than the column: refused by PostgreSQL
    for row in [_row(2), refused, _row(3)]:
        writer.offer(row)
    await writer.flush()
    await writer.aclose()
    try:
        assert await _count(store) == {"trace-0": 1, "trace-2": 1, "trace-3": 1}
    finally:
        await store.aclose()
    assert writer.stats.outages == 0
    assert writer.stats.rows_rejected == 2
    kept = [
        orjson.loads(line)
        for path in (tmp_path / "spool" / REJECTED).glob("*.jsonl")
        for line in path.read_bytes().splitlines()
    ]
    assert sorted(str(item["id"]) for item in kept) == sorted(["not-a-row", refused.id])
    assert not list((tmp_path / "spool").glob("*.jsonl"))


async def test_a_spool_that_cannot_be_written_keeps_the_rows_then_delivers_them(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The database locked (so the rows are overdue) and the spool unwritable: the rows stay in
    memory, spooling is retried; once the spool can be written they are on disk, and once the
    database answers they are delivered, each once."""
    url = f"sqlite+aiosqlite:///{tmp_path}/ledger.sqlite3"
    await asyncio.to_thread(upgrade, url)
    store = RecordStore.open(url)
    folder = tmp_path / "spool"
    writer = RecordWriter(store, Spool(folder), interval_s=0.02, retry_s=0.05, spool_after_s=0.05)
    await writer.start()
    folder.rmdir()
    folder.write_text("a file where the spool folder was")  # every write now fails
    lock = sqlite3.connect(tmp_path / "ledger.sqlite3", isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")
    try:
        for i in range(5):
            writer.offer(_row(i))
        await _until(lambda: writer.stats.spool_errors >= 3, "the spool to be retried")
        assert writer.queue_depth == 5  # kept, not dropped
        assert writer.spool_files == 0
        folder.unlink()
        folder.mkdir()
        await _until(lambda: writer.spool_files >= 1, "the overdue rows to be spooled")
        spool = Spool(folder)
        on_disk = {r.trace_id for f in spool.pending() for r in spool.read_rows(f)[0]}
        assert on_disk == {f"trace-{i}" for i in range(5)}
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    await writer.aclose()
    try:
        assert await _count(store) == {f"trace-{i}": 1 for i in range(5)}
    finally:
        await store.aclose()
    assert not list(folder.glob("*.jsonl"))
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "cannot write the ledger spool" in errors[0], errors


async def test_a_healthy_database_gets_the_rows_without_a_spool_write(tmp_path: Path) -> None:
    """The common path writes nothing to disk besides the database itself."""
    url = f"sqlite+aiosqlite:///{tmp_path}/ledger.sqlite3"
    await asyncio.to_thread(upgrade, url)
    store = RecordStore.open(url)
    spool = Spool(tmp_path / "spool")
    written: list[int] = []
    original = spool.write_rows
    spool.write_rows = lambda rows: written.append(len(rows)) or original(rows)  # type: ignore[method-assign]
    writer = RecordWriter(store, spool, interval_s=0.02, spool_after_s=5.0)
    await writer.start()
    for i in range(50):
        writer.offer(_row(i))
    await _until(lambda: writer.stats.rows_written == 50, "the rows to be delivered")
    await writer.aclose()
    try:
        assert await _count(store) == {f"trace-{i}": 1 for i in range(50)}
    finally:
        await store.aclose()
    assert written == []
