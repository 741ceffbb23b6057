"""Traces on their way to the record store: queued without blocking (:class:`TraceQueue`),
rendered and inserted by the record writer's delivery rounds after the ledger rows.

Traces are best effort (the ledger is the bill): past the queue's bound the oldest queued trace
is shed, a batch the database cannot take is put back (shed past the bound) and retried with the
next round, and traces the database refuses one by one are shed — all counted in the writer's
stats, a refusal said once per batch.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from typing import Any

from llm_gateway.storage.records import TraceRecord
from llm_gateway.storage.refusals import insert_isolating
from llm_gateway.storage.store import RecordStore
from llm_gateway.storage.writer_health import WriterStats

logger = logging.getLogger("llm_gateway.storage")

Render = Callable[[dict[str, Any]], "dict[str, Any] | str"]


class TraceQueue:
    """The writer's trace queue: :meth:`offer` on the request path, :meth:`deliver` in rounds."""

    def __init__(self, stats: WriterStats, max_traces: int, render: Render | None) -> None:
        self._stats = stats
        self._max = max_traces
        self._render = render
        self._queued: deque[TraceRecord] = deque()

    def __bool__(self) -> bool:
        return bool(self._queued)

    def offer(self, record: TraceRecord) -> None:
        """Queue a trace; past the bound the oldest queued trace is shed (and counted)."""
        if len(self._queued) >= self._max:
            self._queued.popleft()
            self._stats.traces_shed += 1
        self._queued.append(record)

    async def deliver(self, store: RecordStore) -> None:
        """Insert every queued trace (rendered first). Raises the database's error with the
        batch put back, oldest first, shedding past the bound."""
        records = list(self._queued)
        self._queued.clear()
        if self._render is not None:
            for record in records:
                if not record.rendered and isinstance(record.body, dict):
                    record.body = self._render(record.body)
                    record.rendered = True
        try:
            refused = await insert_isolating(store.insert_traces, records)
        except BaseException:
            for record in reversed(records):
                if len(self._queued) >= self._max:
                    self._stats.traces_shed += 1
                    continue
                self._queued.appendleft(record)
            raise
        self._stats.traces_written += len(records) - len(refused)
        if refused:
            self._stats.traces_shed += len(refused)
            logger.warning(
                "record store %s refused %d traces (%s): shed",
                store.description,
                len(refused),
                refused[0][1],
            )
