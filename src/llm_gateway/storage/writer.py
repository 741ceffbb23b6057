"""``RecordWriter``: ledger rows and traces, off the request path, exactly once.

The request path calls :meth:`RecordWriter.offer` (O(1), never blocks): the row joins a bounded
in-memory queue. A background task wakes every ``interval_s`` (or when a batch is full), writes
the queued rows to the local spool (fsynced: from then on a ``kill -9`` loses nothing), then
inserts them in the database and removes the spool file. While the database is unreachable,
batches stay in the spool (bounded by ``spool_max_bytes``; one loud log line per outage) and are
delivered oldest first when it answers again; inserts skip ids already stored, so nothing is
counted twice. Past the queue's bound the request path waits for room (:meth:`put`, counted as
back-pressure): ledger rows are never dropped. Traces are best effort: past their own bound the
oldest are shed, and counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from llm_gateway.storage.records import LedgerRow, TraceRecord
from llm_gateway.storage.spool import Spool, SpoolFile
from llm_gateway.storage.store import RecordStore, reason

logger = logging.getLogger("llm_gateway.storage")

_DB_ERRORS = (SQLAlchemyError, OSError, asyncio.TimeoutError, ConnectionError)


@dataclass(slots=True)
class _Batch:
    """A spooled batch; ``rows`` is dropped from memory when too many wait (read back later)."""

    file: SpoolFile
    rows: list[LedgerRow] | None


@dataclass(slots=True)
class WriterStats:
    rows_written: int = 0
    traces_written: int = 0
    traces_shed: int = 0
    backpressure_waits: int = 0
    outages: int = 0
    last_error: str | None = None
    outage_since: float | None = None


class RecordWriter:
    """One per process. ``await start()`` (replays the spool), ``offer()``, ``await aclose()``."""

    def __init__(
        self,
        store: RecordStore,
        spool: Spool,
        *,
        max_queue: int = 20_000,
        batch_rows: int = 1_000,
        interval_s: float = 0.15,
        max_traces: int = 5_000,
        spool_max_bytes: int = 1 << 30,
        max_rows_in_memory: int = 50_000,
        retry_s: float = 1.0,
        render: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    ) -> None:
        self._render = render
        self.store = store
        self.spool = spool
        self.stats = WriterStats()
        self._max_queue = max_queue
        self._batch_rows = batch_rows
        self._interval_s = interval_s
        self._max_traces = max_traces
        self._spool_max_bytes = spool_max_bytes
        self._max_rows_in_memory = max_rows_in_memory
        self._retry_s = retry_s
        self._rows: list[LedgerRow] = []
        self._traces: deque[TraceRecord] = deque()
        self._unacked: deque[_Batch] = deque()
        self._unacked_bytes = 0
        self._rows_in_memory = 0
        self._wake = asyncio.Event()
        self._room = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._next_retry = 0.0
        self._round = asyncio.Lock()  # one spool-and-deliver round at a time

    # -- the request path ---------------------------------------------------------------------

    def offer(self, row: LedgerRow) -> bool:
        """Queue ``row``; False (nothing queued) when the queue is full: then ``await put``."""
        rows = self._rows
        if len(rows) >= self._max_queue:
            return False
        rows.append(row)
        if len(rows) >= self._batch_rows:
            self._wake.set()
        return True

    async def put(self, row: LedgerRow) -> None:
        """Queue ``row``, waiting for room when the queue is full (back-pressure, counted)."""
        if self.offer(row):
            return
        self.stats.backpressure_waits += 1
        while not self.offer(row):
            self._room.clear()
            self._wake.set()
            await self._room.wait()

    def offer_trace(self, record: TraceRecord) -> None:
        """Queue a trace; past the bound the oldest queued trace is shed (and counted)."""
        if len(self._traces) >= self._max_traces:
            self._traces.popleft()
            self.stats.traces_shed += 1
        self._traces.append(record)

    # -- state ----------------------------------------------------------------------------------

    @property
    def queue_depth(self) -> int:
        return len(self._rows)

    @property
    def spool_bytes(self) -> int:
        return self._unacked_bytes

    @property
    def spool_files(self) -> int:
        return len(self._unacked)

    @property
    def in_outage(self) -> bool:
        return self.stats.outage_since is not None

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Take over what an earlier run left in the spool, deliver it if the database answers,
        then start the background task."""
        await asyncio.to_thread(self.spool.remove_stale_temporaries)
        leftovers = await asyncio.to_thread(self.spool.pending)
        for spooled in leftovers:
            self._track(_Batch(spooled, None))
        if leftovers:
            logger.info(
                "replaying %d ledger batches left in %s", len(leftovers), self.spool.directory
            )
        await self._deliver()
        self._task = asyncio.create_task(self._run(), name="llm-gateway-record-writer")

    async def aclose(self, timeout_s: float = 10.0) -> None:
        """Flush everything queued (graceful shutdown); what the database did not take within
        ``timeout_s`` stays in the spool for the next start."""
        self._closing = True
        self._wake.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        deadline = time.monotonic() + timeout_s
        async with self._round:
            await self._spool_queued(everything=True)
            while self._unacked and time.monotonic() < deadline:
                self._next_retry = 0.0
                if not await self._deliver():
                    await asyncio.sleep(0.2)
            self.stats.outage_since = None
            await self._write_traces()
        if self._unacked:
            logger.error(
                "record store %s did not take %d ledger batches before shutdown: they stay in %s "
                "and are delivered at the next start",
                self.store.description,
                len(self._unacked),
                self.spool.directory,
            )

    async def flush(self) -> None:
        """Spool and deliver what is queued now (reports that must see the latest)."""
        async with self._round:
            await self._spool_queued(everything=True)
            if not self.in_outage:
                await self._deliver()
                await self._write_traces()

    # -- background -----------------------------------------------------------------------------

    async def _run(self) -> None:
        while not self._closing:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._interval_s)
            self._wake.clear()
            try:
                async with self._round:
                    await self._spool_queued(everything=False)
                    await self._deliver()
                    await self._write_traces()
            except asyncio.CancelledError:
                raise
            except Exception:  # never let the writer die: the next round tries again
                logger.exception("record writer round failed")
                await asyncio.sleep(self._retry_s)

    async def _spool_queued(self, *, everything: bool) -> None:
        while self._rows:
            if self._unacked_bytes >= self._spool_max_bytes and not everything:
                # The spool is full: leave rows queued; the request path meets back-pressure.
                return
            rows = self._rows[: self._batch_rows * 5]
            lines = [row.to_json_bytes() for row in rows]
            spooled = await asyncio.to_thread(self.spool.write, lines)
            del self._rows[: len(rows)]
            self._track(_Batch(spooled, rows))
            self._room.set()

    def _track(self, batch: _Batch) -> None:
        self._unacked.append(batch)
        self._unacked_bytes += batch.file.size
        if batch.rows is not None:
            self._rows_in_memory += len(batch.rows)
            if self._rows_in_memory > self._max_rows_in_memory:
                self._forget_oldest_rows()

    def _forget_oldest_rows(self) -> None:
        for batch in self._unacked:
            if self._rows_in_memory <= self._max_rows_in_memory // 2:
                return
            if batch.rows is not None:
                self._rows_in_memory -= len(batch.rows)
                batch.rows = None

    async def _deliver(self) -> bool:
        """Insert waiting batches oldest first; False when the database refused."""
        if not self._unacked:
            return True
        if time.monotonic() < self._next_retry:
            return False
        while self._unacked:
            group = self._group()
            rows: list[LedgerRow] = []
            for batch in group:
                if batch.rows is not None:
                    rows.extend(batch.rows)
                else:
                    raw = await asyncio.to_thread(self.spool.read, batch.file)
                    rows.extend(LedgerRow.from_json(item) for item in raw)
            try:
                await self.store.insert_ledger(rows)
            except _DB_ERRORS as exc:
                self._outage(exc)
                return False
            for batch in group:
                self._unacked.popleft()
                self._unacked_bytes -= batch.file.size
                if batch.rows is not None:
                    self._rows_in_memory -= len(batch.rows)
            await asyncio.to_thread(_remove_all, self.spool, [b.file for b in group])
            self.stats.rows_written += len(rows)
        self._recovered()
        return True

    def _group(self) -> list[_Batch]:
        group: list[_Batch] = []
        count = 0
        for batch in self._unacked:
            group.append(batch)
            count += len(batch.rows) if batch.rows is not None else self._batch_rows
            if count >= self._batch_rows * 5:
                break
        return group

    async def _write_traces(self) -> None:
        if not self._traces or self.in_outage:
            return
        records = list(self._traces)
        self._traces.clear()
        if self._render is not None:
            for record in records:
                if not record.rendered:
                    record.body = self._render(record.body)
                    record.rendered = True
        try:
            self.stats.traces_written += await self.store.insert_traces(records)
        except _DB_ERRORS as exc:
            # Traces are best effort: put them back (shed past the bound) and retry later.
            for record in reversed(records):
                if len(self._traces) >= self._max_traces:
                    self.stats.traces_shed += 1
                    continue
                self._traces.appendleft(record)
            self._outage(exc)

    def _outage(self, exc: BaseException) -> None:
        self.stats.last_error = reason(exc)
        self._next_retry = time.monotonic() + self._retry_s
        if self.stats.outage_since is None:
            self.stats.outage_since = time.monotonic()
            self.stats.outages += 1
            logger.error(
                "record store %s unreachable (%s): ledger rows are kept in the local spool %s "
                "and delivered when it answers again",
                self.store.description,
                self.stats.last_error,
                self.spool.directory,
            )

    def _recovered(self) -> None:
        if self.stats.outage_since is not None:
            lasted = time.monotonic() - self.stats.outage_since
            self.stats.outage_since = None
            logger.warning(
                "record store %s answers again after %.1f s: the spooled ledger rows are written",
                self.store.description,
                lasted,
            )


def _remove_all(spool: Spool, files: list[SpoolFile]) -> None:
    for spooled in files:
        spool.remove(spooled)
