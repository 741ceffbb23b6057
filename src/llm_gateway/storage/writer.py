"""``RecordWriter``: ledger rows and traces, off the request path, exactly once.

The request path calls :meth:`RecordWriter.offer` (O(1), never blocks): the row joins a bounded
in-memory queue. A background task wakes every ``interval_s`` (or when a batch is full), takes
the queued rows as a batch and hands it to the delivery task, which inserts batches in the
database, oldest first. A batch the database has not committed ``spool_after_s`` after its
oldest row was queued (a slow, locked or unreachable database) is written to the local spool,
fsynced: from then on a ``kill -9`` loses nothing. So a row is durable within
``spool_after_s + interval_s`` of its request, in the database when it is healthy (no disk
write at all on that path) or in the spool when it is not; ``spool_after_s = 0`` spools every
batch before the database sees it. While the database is unreachable, batches go to the spool at
once (bounded by ``spool_max_bytes``; one loud log line per outage) and are delivered when it
answers again; inserts skip ids already stored, so a batch both committed and spooled is not
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
from llm_gateway.storage.refusals import insert_isolating, keep_refused
from llm_gateway.storage.shadow_rows import ComparisonQueue
from llm_gateway.storage.spool import Spool, SpoolFile
from llm_gateway.storage.store import RecordStore
from llm_gateway.storage.trace_queue import TraceQueue
from llm_gateway.storage.writer_health import WriterHealth

logger = logging.getLogger("llm_gateway.storage")

_DB_ERRORS = (SQLAlchemyError, OSError, asyncio.TimeoutError, ConnectionError)


@dataclass(slots=True)
class _Batch:
    """A batch on its way to the database: in memory (``file`` None) until it is overdue, then
    also in the spool; a spooled batch's ``rows`` are dropped from memory when too many wait
    (read back from its file)."""

    file: SpoolFile | None
    rows: list[LedgerRow] | None
    since: float  # monotonic: when its oldest row was queued
    delivered: bool = False


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
        spool_after_s: float = 0.4,
        render: Callable[[dict[str, Any]], dict[str, Any] | str] | None = None,
    ) -> None:
        self.store = store
        self.spool = spool
        self.health = WriterHealth(store.description, spool.directory)
        self.stats = self.health.stats
        self._max_queue = max_queue
        self._batch_rows = batch_rows
        self._interval_s = interval_s
        self._spool_max_bytes = spool_max_bytes
        self._max_rows_in_memory = max_rows_in_memory
        self._retry_s = retry_s
        self._spool_after_s = spool_after_s
        self._rows: list[LedgerRow] = []
        self._rows_since = 0.0  # monotonic: when the oldest queued row was queued
        self._unspooled_rows = 0  # rows of batches that are in memory only
        self.traces = TraceQueue(self.stats, max_traces, render)
        self.comparisons = ComparisonQueue()  # shadow traffic's, best effort like traces
        self._unacked: deque[_Batch] = deque()
        self._unacked_bytes = 0
        self._rows_in_memory = 0
        self._wake = asyncio.Event()
        self._room = asyncio.Event()
        self._task: asyncio.Task[None] | None = None  # the spooler
        self._delivery: asyncio.Task[None] | None = None
        self._closing = False
        self._next_retry = 0.0
        self._spooling = asyncio.Lock()  # one spool write at a time
        self._round = asyncio.Lock()  # one delivery at a time

    # -- the request path ---------------------------------------------------------------------

    def offer(self, row: LedgerRow) -> bool:
        """Queue ``row``; False (nothing queued) when the queue is full: then ``await put``."""
        rows = self._rows
        if len(rows) >= self._max_queue:
            return False
        if not rows:
            self._rows_since = time.monotonic()
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
        """Queue a trace (best effort: :class:`~llm_gateway.storage.trace_queue.TraceQueue`)."""
        self.traces.offer(record)

    # -- state ----------------------------------------------------------------------------------

    @property
    def queue_depth(self) -> int:
        """Rows in memory only, neither committed nor spooled: what a ``kill -9`` now loses."""
        return len(self._rows) + self._unspooled_rows

    @property
    def spool_bytes(self) -> int:
        return self._unacked_bytes

    @property
    def spool_files(self) -> int:
        return sum(1 for batch in self._unacked if batch.file is not None)

    @property
    def in_outage(self) -> bool:
        return self.health.in_outage

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self, replay_timeout_s: float = 10.0) -> None:
        """Take over what an earlier run left in the spool, deliver it if the database answers
        within ``replay_timeout_s`` (the rest is delivered in the background), then start the
        background task."""
        await asyncio.to_thread(self.spool.remove_stale_temporaries)
        leftovers = await asyncio.to_thread(self.spool.pending)
        for spooled in leftovers:
            self._track(_Batch(spooled, None, time.monotonic()))
        if leftovers:
            logger.info(
                "replaying %d ledger batches left in %s", len(leftovers), self.spool.directory
            )
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._deliver_locked(traces=False), replay_timeout_s)
        self._task = asyncio.create_task(self._run(), name="llm-gateway-record-writer")

    async def aclose(self, timeout_s: float = 10.0) -> None:
        """Flush everything queued (graceful shutdown): first to the spool, then to the database;
        what the database did not take within ``timeout_s`` stays in the spool for the next
        start."""
        self._closing = True
        self._wake.set()
        if self._task is not None:  # its last round spools what is queued, then it ends
            await asyncio.wait({self._task}, timeout=self._retry_s + 5)
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._take_queued(everything=True)
        try:
            await self._spool_overdue(everything=True)
        except Exception as exc:  # the disk refuses: hand what is queued to the database
            self.health.spool_failed(exc, self.queue_depth)
        deadline = time.monotonic() + timeout_s
        delivery = self._delivery
        if delivery is not None and not delivery.done():
            await asyncio.wait({delivery}, timeout=max(0.0, deadline - time.monotonic()))
            delivery.cancel()  # stuck on a database that does not answer: the spool has it
            with contextlib.suppress(asyncio.CancelledError):
                await delivery
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._drain(deadline), max(0.0, deadline - time.monotonic()))
        spooled = sum(1 for batch in self._unacked if batch.file is not None)
        if spooled:
            logger.error(
                "record store %s did not take %d ledger batches before shutdown: they stay in %s "
                "and are delivered at the next start",
                self.store.description,
                spooled,
                self.spool.directory,
            )
        lost = len(self._rows) + self._unspooled_rows
        if lost:
            logger.error(
                "%d ledger rows are lost: neither the spool %s nor the record store %s took them",
                lost,
                self.spool.directory,
                self.store.description,
            )

    async def _drain(self, deadline: float) -> None:
        async with self._round:
            self._take_queued(everything=True)
            while self._unacked and time.monotonic() < deadline:
                self._next_retry = 0.0
                if not await self._deliver():
                    await asyncio.sleep(0.2)
            if not self._unacked:
                self.stats.outage_since = None
                await self._write_traces()
                await self._write_comparisons()

    async def flush(self) -> None:
        """Deliver what is queued now (reports that must see the latest)."""
        self._take_queued(everything=True)
        if self.in_outage:
            await self._spool_overdue(everything=True)
        else:
            await self._deliver_locked(traces=True)

    # -- background -----------------------------------------------------------------------------
    #
    # Two tasks, so that a slow or stalled database never delays the spool: the batcher
    # (``_run``) takes what is queued every ``interval_s``, spools the batches the database has
    # not taken in time, and starts a delivery when none runs; a delivery (``_deliver_round``)
    # inserts the waiting batches, oldest first, however long the database takes. A ``kill -9``
    # loses at most the rows of the last ``spool_after_s + interval_s``.

    async def _run(self) -> None:
        while not self._closing:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._interval_s)
            self._wake.clear()
            self._take_queued(everything=False)
            try:
                await self._spool_overdue(everything=False)
                self.health.spool_recovered()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a disk that refuses: the rows stay in memory, retried
                self.health.spool_failed(exc, self.queue_depth)
                await asyncio.sleep(self._retry_s)
            if (self._unacked or self.traces or self.comparisons) and (
                self._delivery is None or self._delivery.done()
            ):
                self._delivery = asyncio.create_task(
                    self._deliver_round(), name="llm-gateway-record-delivery"
                )

    async def _deliver_round(self) -> None:
        try:
            await self._deliver_locked(traces=True)
        except asyncio.CancelledError:
            raise
        except Exception:  # never let the writer die: the next round tries again
            logger.exception("record writer delivery failed")
            self._next_retry = time.monotonic() + self._retry_s

    async def _deliver_locked(self, *, traces: bool) -> None:
        async with self._round:
            if await self._deliver() and traces:
                await self._write_traces()
                await self._write_comparisons()

    def _take_queued(self, *, everything: bool) -> None:
        """Move the queued rows into batches for delivery. In-memory batches are bounded like
        the queue: past ``max_queue`` rows not yet spooled, rows stay queued (back-pressure)."""
        while self._rows:
            if self._unspooled_rows >= self._max_queue and not everything:
                return
            rows = self._rows[: self._batch_rows * 5]
            del self._rows[: len(rows)]
            self._track(_Batch(None, rows, self._rows_since))
            self._unspooled_rows += len(rows)
            self._room.set()

    async def _spool_overdue(self, *, everything: bool) -> None:
        """Spool the in-memory batches the database has not committed in time (all of them
        during an outage, or with ``everything``)."""
        async with self._spooling:
            now = time.monotonic()
            hurry = everything or self.in_outage or self._spool_after_s <= 0
            for batch in list(self._unacked):
                if batch.file is not None or batch.delivered or batch.rows is None:
                    continue
                if not hurry and now - batch.since < self._spool_after_s:
                    break  # batches are in queue order: the rest are younger
                if self._unacked_bytes >= self._spool_max_bytes and not everything:
                    return  # the spool is full: they stay in memory (bounded, back-pressure)
                spooled = await asyncio.to_thread(self.spool.write_rows, batch.rows)
                if batch.delivered:  # committed while it was being written: not needed
                    await asyncio.to_thread(self.spool.remove, spooled)
                    continue
                batch.file = spooled
                self._unacked_bytes += spooled.size
                self._unspooled_rows -= len(batch.rows)
                self._room.set()

    def _track(self, batch: _Batch) -> None:
        self._unacked.append(batch)
        if batch.file is not None:
            self._unacked_bytes += batch.file.size
        if batch.rows is not None:
            self._rows_in_memory += len(batch.rows)
            if self._rows_in_memory > self._max_rows_in_memory:
                self._forget_oldest_rows()

    def _forget_oldest_rows(self) -> None:
        for batch in self._unacked:
            if self._rows_in_memory <= self._max_rows_in_memory // 2:
                return
            if batch.rows is not None and batch.file is not None:
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
            unreadable: list[dict[str, Any]] = []
            for batch in group:
                if batch.rows is not None:
                    rows.extend(batch.rows)
                elif batch.file is not None:
                    read, unread = await asyncio.to_thread(self.spool.read_rows, batch.file)
                    rows.extend(read)
                    unreadable.extend(unread)
            try:
                refused = await insert_isolating(self.store.insert_ledger, rows)
            except _DB_ERRORS as exc:
                self._outage(exc)
                return False
            if refused or unreadable:
                kept = await keep_refused(self.spool, self.store.description, refused, unreadable)
                self.stats.rows_rejected += kept
            files: list[SpoolFile] = []
            for batch in group:
                oldest = self._unacked.popleft()  # only deliveries pop, one at a time
                assert oldest is batch
                batch.delivered = True
                if batch.file is not None:
                    self._unacked_bytes -= batch.file.size
                    files.append(batch.file)
                elif batch.rows is not None:
                    self._unspooled_rows -= len(batch.rows)
                if batch.rows is not None:
                    self._rows_in_memory -= len(batch.rows)
            if files:
                await asyncio.to_thread(self.spool.remove_all, files)
            self.stats.rows_written += len(rows) - len(refused)
        self.health.recovered()
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
        if not self.traces or time.monotonic() < self._next_retry:
            return
        try:
            await self.traces.deliver(self.store)
        except _DB_ERRORS as exc:  # put back (bounded) by the queue; retried with the rest
            self._outage(exc)
            return
        self.health.recovered()

    async def _write_comparisons(self) -> None:
        if not self.comparisons or time.monotonic() < self._next_retry:
            return
        try:
            await self.comparisons.deliver(self.store)
        except _DB_ERRORS as exc:  # put back (bounded) by the queue; retried with the rest
            self._outage(exc)

    def _outage(self, exc: BaseException) -> None:
        self._next_retry = time.monotonic() + self._retry_s
        self.health.outage(exc)
