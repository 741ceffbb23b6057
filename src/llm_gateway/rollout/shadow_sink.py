"""Where a shadow comparison row goes.

- A serving gateway (its app attached a record store): the record writer's comparison queue,
  delivered with its traces on the writer's loop.
- A gateway used in process by legacy code in a worker (no record store attached, but
  ``DATABASE_URL`` set): a queue of its own, delivered by a small task on the node clients'
  loop to a store it opens on first use (the schema must be there: ``llm-gateway db upgrade``,
  or a served gateway on the same database) — so the server's ``GET /shadow`` sees the
  comparisons of every worker.
- Neither: the runner's recent rows in memory only.

Delivery is best effort (see :mod:`llm_gateway.storage.shadow_rows`); a failure is logged once
per outage and the rows wait (bounded) for the next round.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from llm_gateway.storage.shadow_rows import ComparisonQueue, ShadowComparison
from llm_gateway.storage.store import RecordStore, reason

logger = logging.getLogger("llm_gateway.rollout.shadow")

FLUSH_S = 0.5
RETRY_S = 5.0


class OwnStoreSink:
    """Comparison rows to a record store this process opens itself (see the module doc)."""

    def __init__(self, url: str, *, flush_s: float = FLUSH_S) -> None:
        self._url = url
        self._flush_s = flush_s
        self.queue = ComparisonQueue()
        self._store: RecordStore | None = None
        self._task: asyncio.Task[None] | None = None
        self._failing = False

    def offer(self, row: ShadowComparison) -> None:
        """Queue ``row``; start the delivery task on the running loop when none runs."""
        self.queue.offer(row)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(
                self._deliver(), name="llm-gateway-shadow-rows"
            )

    async def flush(self) -> None:
        """Deliver what is queued now (raises what the store raises)."""
        await self.queue.deliver(self._open())

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._store is not None:
            with contextlib.suppress(Exception):
                await self.queue.deliver(self._store)
            await self._store.aclose()
            self._store = None

    def _open(self) -> RecordStore:
        if self._store is None:
            self._store = RecordStore.open(self._url, pool_size=1)
        return self._store

    async def _deliver(self) -> None:
        while len(self.queue):
            await asyncio.sleep(self._flush_s)  # batch what the next shadows add meanwhile
            try:
                await self.queue.deliver(self._open())
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not self._failing:
                    logger.warning(
                        "shadow comparisons cannot be written to the record store (%s): kept "
                        "in memory (bounded) and retried; is its schema at head "
                        "(`llm-gateway db upgrade`)?",
                        reason(exc),
                    )
                self._failing = True
                await asyncio.sleep(RETRY_S)
            else:
                self._failing = False


def sink_for(gateway: Any, own: OwnStoreSink | None) -> Any:
    """The record writer's queue when ``gateway`` has a record store, else ``own`` (may be
    None: memory only)."""
    records = getattr(gateway, "records", None)
    if records is not None:
        return records.writer.comparisons
    return own
