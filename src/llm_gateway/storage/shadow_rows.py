"""Shadow comparison rows on their way to the record store: built in the shadow task, queued
without blocking (:class:`ComparisonQueue`), inserted by the record writer's delivery rounds next
to the traces.

Like traces, they are best effort: evidence for a decision, not a bill. Past the queue's bound
the oldest are shed (counted), and a batch the database refuses is put back and retried; a
process that dies loses what was queued. (The v2 call's own ledger row, arm ``shadow``, is a
ledger row like any other: durable.)
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import insert

from llm_gateway.storage.schema import shadow_comparisons
from llm_gateway.storage.shadow_queries import shadow_spend
from llm_gateway.storage.store import RecordStore

SHADOW_ARM = "shadow"

logger = logging.getLogger("llm_gateway.storage")


@dataclass(slots=True)
class ShadowComparison:
    """One shadow run: what v1 answered the caller, what v2 answered in the background."""

    id: str
    at: datetime
    node: str
    purpose: str
    v1_model: str
    v1_ok: bool
    v2_ok: bool
    stream: bool = False
    arm: str = SHADOW_ARM
    v1_trace_id: str | None = None
    v2_trace_id: str | None = None
    v2_model: str | None = None
    v1_latency_ms: float | None = None
    v2_latency_ms: float | None = None
    v1_cost_usd: Decimal | None = None
    v2_cost_usd: Decimal | None = None
    v1_output_chars: int | None = None
    v2_output_chars: int | None = None
    similarity: float | None = None
    v1_error: str | None = None
    v2_error: str | None = None

    def as_row(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


async def insert_comparisons(store: RecordStore, rows: Sequence[ShadowComparison]) -> int:
    """Insert ``rows`` in one transaction (all or none)."""
    if not rows:
        return 0
    async with store.engine.begin() as connection:
        await connection.execute(insert(shadow_comparisons), [row.as_row() for row in rows])
    return len(rows)


class ComparisonQueue:
    """Rows waiting for the writer. ``offer`` is O(1), never blocks and may be called from any
    thread (the node clients' loop runs the shadow calls; the writer runs on the app's)."""

    def __init__(self, max_rows: int = 2_000) -> None:
        self._rows: deque[ShadowComparison] = deque()
        self._max_rows = max_rows
        self._lock = threading.Lock()
        self.shed = 0
        self.written = 0
        # (UTC day, what every replica's shadows of that day cost, as the store has it)
        self.recorded: tuple[str, Decimal] | None = None

    def __len__(self) -> int:
        return len(self._rows)

    def offer(self, row: ShadowComparison) -> None:
        with self._lock:
            if len(self._rows) >= self._max_rows:
                self._rows.popleft()
                self.shed += 1
            self._rows.append(row)

    async def deliver(self, store: RecordStore) -> None:
        """Insert what is queued; on failure put it back (shedding past the bound) and raise.
        After a delivery, :attr:`recorded` is the day's shadow spend in the store."""
        with self._lock:
            batch = list(self._rows)
            self._rows.clear()
        if not batch:
            return
        try:
            await insert_comparisons(store, batch)
        except Exception:
            with self._lock:
                room = self._max_rows - len(self._rows)
                kept = batch[-room:] if room > 0 else []
                self.shed += len(batch) - len(kept)
                self._rows.extendleft(reversed(kept))
            raise
        self.written += len(batch)
        day = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        try:
            self.recorded = (day.strftime("%Y-%m-%d"), await shadow_spend(store, day))
        except Exception as exc:  # the rows are in: the next delivery reads the total again
            logger.debug("cannot read the day's shadow spend: %s", exc)
