"""Retention: traces older than ``GATEWAY_METRICS_RETENTION_HOURS``, ledger rows (and shadow
comparisons) older than ``GATEWAY_LEDGER_RETENTION_DAYS`` are removed by a periodic job, in
bounded batches (never one table-locking DELETE). On PostgreSQL the ledger is partitioned by
month: the job creates the coming months ahead of time and drops a month once all of it is past
retention.
"""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, text
from sqlalchemy.exc import SQLAlchemyError

from llm_gateway.storage.schema import ledger, shadow_comparisons, traces
from llm_gateway.storage.store import RecordStore, reason

logger = logging.getLogger("llm_gateway.storage")

BATCH = 1000
_PARTITION = re.compile(r"^ledger_y(\d{4})m(\d{2})$")


def _month(at: datetime, plus: int = 0) -> datetime:
    index = at.year * 12 + at.month - 1 + plus
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


async def ensure_partitions(store: RecordStore, *, months_ahead: int = 2) -> list[str]:
    """PostgreSQL: the ledger's partitions for this month and the next ``months_ahead``."""
    if store.dialect != "postgresql":
        return []
    created = []
    now = datetime.now(UTC)
    async with store.engine.begin() as connection:
        for plus in range(months_ahead + 1):
            start, end = _month(now, plus), _month(now, plus + 1)
            name = f"ledger_y{start.year:04d}m{start.month:02d}"
            exists = await connection.scalar(text("SELECT to_regclass(:n)"), {"n": name})
            if exists is not None:
                continue
            # Rows of that month already in the default partition move into the new one first
            # (PostgreSQL refuses a partition whose range the default partition holds rows of).
            bounds = {"s": start, "e": end}
            await connection.execute(text(f"CREATE TABLE {name} (LIKE ledger INCLUDING DEFAULTS)"))
            await connection.execute(
                text(
                    f"WITH moved AS (DELETE FROM ledger_default WHERE at >= :s AND at < :e "
                    f"RETURNING *) INSERT INTO {name} SELECT * FROM moved"
                ),
                bounds,
            )
            await connection.execute(
                text(
                    f"ALTER TABLE ledger ATTACH PARTITION {name} FOR VALUES FROM "
                    f"('{start.isoformat()}') TO ('{end.isoformat()}')"
                )
            )
            created.append(name)
    return created


async def _drop_expired_partitions(store: RecordStore, cutoff: datetime) -> list[str]:
    dropped = []
    async with store.engine.begin() as connection:
        names = await connection.scalars(
            text(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'ledger'"
            )
        )
        for name in list(names):
            match = _PARTITION.match(name)
            if match is None:
                continue
            start = datetime(int(match[1]), int(match[2]), 1, tzinfo=UTC)
            if _month(start, 1) <= cutoff:
                await connection.execute(text(f"DROP TABLE {name}"))
                dropped.append(name)
    return dropped


async def _delete_batches(store: RecordStore, table: str, cutoff: datetime) -> int:
    target = {"traces": traces, "ledger": ledger, "shadow_comparisons": shadow_comparisons}[table]
    key = target.c.request_id if table == "traces" else target.c.id
    removed = 0
    while True:
        batch = select(key).where(target.c.at < cutoff).limit(BATCH).scalar_subquery()
        async with store.engine.begin() as connection:
            result = await connection.execute(delete(target).where(key.in_(batch)))
        count = result.rowcount or 0
        removed += count
        if count < BATCH:
            return removed
        await asyncio.sleep(0.05)  # let the writer in between batches


class RetentionJob:
    def __init__(
        self,
        store: RecordStore,
        *,
        trace_hours: float,
        ledger_days: float,
        interval_s: float = 3600.0,
    ) -> None:
        self.store = store
        self.trace_hours = trace_hours
        self.ledger_days = ledger_days
        self.interval_s = interval_s

    async def run_once(self, now: datetime | None = None) -> dict[str, int]:
        now = now or datetime.now(UTC)
        trace_cut = now - timedelta(hours=self.trace_hours)
        ledger_cut = now - timedelta(days=self.ledger_days)
        out = {"traces": await _delete_batches(self.store, "traces", trace_cut)}
        if self.store.dialect == "postgresql":
            await ensure_partitions(self.store)
            out["partitions_dropped"] = len(await _drop_expired_partitions(self.store, ledger_cut))
        out["ledger"] = await _delete_batches(self.store, "ledger", ledger_cut)
        # Shadow comparisons: evidence read beside the ledger (cost report), kept as long.
        out["shadow_comparisons"] = await _delete_batches(
            self.store, "shadow_comparisons", ledger_cut
        )
        return out

    async def run_forever(self) -> None:
        await asyncio.sleep(min(60.0, self.interval_s))
        while True:
            try:
                removed = await self.run_once()
                if any(removed.values()):
                    logger.info("retention: removed %s", removed)
            except (SQLAlchemyError, OSError) as exc:
                logger.warning("retention job failed, retried later: %s", reason(exc))
            await asyncio.sleep(self.interval_s)
