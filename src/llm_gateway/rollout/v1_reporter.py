"""Reporting a remote shim's v1 requests to its served gateway, in the background.

A legacy client with ``GATEWAY_URL`` set calls its v1 model directly — v1 is the rollback path
and must not depend on the gateway being up — so the gateway never sees those calls. After each
one, :meth:`V1Reporter.offer` queues the request's record (O(1), never blocks, no I/O); a daemon
thread POSTs the queue to ``{GATEWAY_URL}/v1/rollout/records`` in batches
(:mod:`llm_gateway.rollout.v1_wire`), where the gateway writes them to its ledger and traces.

- While the gateway is unreachable (connection refused, timeout, 5xx, 429, 401/403, 404 from an
  older gateway) the queue is kept and sent again with exponential backoff
  (:data:`FIRST_BACKOFF_S` doubling to :data:`MAX_BACKOFF_S`), said once per outage.
- The queue is bounded (``GATEWAY_V1_REPORT_QUEUE_MAX``): past it the oldest record is dropped,
  counted, said once per outage (and the count again when the gateway answers).
- A record the gateway refuses (422 naming ``records[i]...``) is dropped alone and the rest sent
  again; any other refusal (400, 413) drops the batch. Either is logged once per kind.
- The gateway stores each record id once, so a batch sent again after a lost answer is not
  counted twice.
- At interpreter exit (``atexit``) what is queued is sent, for at most
  ``GATEWAY_V1_REPORT_EXIT_S``; what the gateway did not take by then is said in one line.
"""

from __future__ import annotations

import atexit
import logging
import random
import re
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

import httpx

from llm_gateway.rollout.v1_wire import MAX_BATCH, RECORDS_PATH, wire_record
from llm_gateway.settings import get_settings
from llm_gateway.storage.records import LedgerRow

logger = logging.getLogger("llm_gateway.rollout")

INTERVAL_S = 0.25
FIRST_BACKOFF_S = 0.5
MAX_BACKOFF_S = 10.0
_RETRIED = frozenset({401, 403, 404, 405, 408, 425, 429})
_REJECTED_ONE = re.compile(r"^records\[(\d+)\]")


@dataclass(slots=True)
class ReporterStats:
    """Counts since the reporter started."""

    queued: int = 0
    sent: int = 0  # accepted by the gateway (new records)
    duplicates: int = 0  # the gateway had them already
    rejected: int = 0  # refused by the gateway (invalid): dropped
    dropped: int = 0  # pushed out of the full queue: lost
    failures: int = 0  # POSTs that did not reach or were not taken (retried)


class V1Reporter:
    """The v1 records of one process for the gateway at ``base_url``."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None,
        *,
        max_queue: int = 10_000,
        exit_s: float = 5.0,
        interval_s: float = INTERVAL_S,
        max_backoff_s: float = MAX_BACKOFF_S,
        batch: int = MAX_BATCH,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._headers = {"authorization": f"Bearer {api_key}"} if api_key else {}
        self.stats = ReporterStats()
        self._max_queue = max(1, max_queue)
        self._exit_s = exit_s
        self._interval_s = interval_s
        self._max_backoff_s = max_backoff_s
        self._batch = max(1, min(batch, MAX_BATCH))
        self._queue: deque[dict[str, Any]] = deque()
        self._in_flight = 0  # records of the batch being sent
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closing = threading.Event()
        self._deadline = float("inf")  # monotonic: when closing gives up
        self._outage: str | None = None  # why the gateway is not taking records, while it is not
        self._dropped_in_outage = 0
        self._said: set[str] = set()  # the kinds of refusal already logged
        self._thread = threading.Thread(
            target=self._run, name="llm-gateway-v1-reporter", daemon=True
        )
        self._thread.start()

    # -- the request path -------------------------------------------------------------------

    def offer(self, row: LedgerRow, *, node: str) -> None:
        """Queue the record of one v1 request; the oldest queued is dropped past the bound."""
        record = wire_record(row, node)
        with self._lock:
            self._queue.append(record)
            self.stats.queued += 1
            first_drop = self._trim()
            full = len(self._queue) >= self._batch
        if first_drop:
            self._say_dropping()
        if full:
            self._wake.set()

    @property
    def pending(self) -> int:
        """Records queued or being sent, not yet taken by the gateway."""
        with self._lock:
            return len(self._queue) + self._in_flight

    # -- lifecycle ----------------------------------------------------------------------------

    def close(self, timeout_s: float | None = None) -> int:
        """Send what is queued (for at most ``timeout_s``, default the exit bound), then stop;
        the number of records the gateway did not take."""
        budget = self._exit_s if timeout_s is None else timeout_s
        self._deadline = time.monotonic() + budget
        self._closing.set()
        self._wake.set()
        self._thread.join(budget + 1.0)
        left = self.pending
        if left:
            logger.error(
                "%d v1 records were not delivered to %s before exit (%s)",
                left,
                self.base_url,
                self._outage or "out of time",
            )
        return left

    # -- the sender thread --------------------------------------------------------------------

    def _run(self) -> None:
        backoff = 0.0
        with httpx.Client(base_url=self.base_url, timeout=httpx.Timeout(5.0, connect=2.0)) as http:
            while True:
                self._pause(backoff)
                if self._closing.is_set() and time.monotonic() >= self._deadline:
                    return
                batch = self._take()
                if not batch:
                    if self._closing.is_set():
                        return
                    continue
                leftover = self._deliver(http, batch)
                if leftover is None:
                    backoff = 0.0
                else:
                    self._put_back(leftover)
                    backoff = _next_backoff(backoff, self._max_backoff_s)

    def _pause(self, backoff: float) -> None:
        """Until the next send: the interval (cut short by a full batch, or by closing), or
        after a failure the backoff (cut short by closing only, so a full queue does not turn an
        outage into a stream of retries); closing, no pause but the backoff, within the bound."""
        if self._closing.is_set():
            if backoff:
                time.sleep(min(backoff, max(0.0, self._deadline - time.monotonic())))
            return
        if backoff:
            self._closing.wait(backoff)
            return
        self._wake.wait(self._interval_s)
        self._wake.clear()

    def _take(self) -> list[dict[str, Any]]:
        with self._lock:
            count = min(self._batch, len(self._queue))
            batch = [self._queue.popleft() for _ in range(count)]
            self._in_flight = count
            return batch

    def _put_back(self, batch: list[dict[str, Any]]) -> None:
        with self._lock:
            self._queue.extendleft(reversed(batch))
            self._in_flight = 0
            first_drop = self._trim()
        if first_drop:
            self._say_dropping()

    def _trim(self) -> bool:
        """Drop the oldest past the bound (the lock held); True for the first drop since the
        gateway last took records (then it is said)."""
        dropped = 0
        while len(self._queue) > self._max_queue:
            self._queue.popleft()
            dropped += 1
        first = dropped > 0 and self._dropped_in_outage == 0
        self._dropped_in_outage += dropped
        self.stats.dropped += dropped
        return first

    def _deliver(
        self, http: httpx.Client, batch: list[dict[str, Any]]
    ) -> list[dict[str, Any]] | None:
        """POST ``batch`` until the gateway took it (None), or cannot now: then the records to
        send again. Records the gateway refuses are dropped on the way."""
        while batch:
            timeout = 5.0
            if self._closing.is_set():
                timeout = max(0.1, min(timeout, self._deadline - time.monotonic()))
            try:
                answer = http.post(
                    RECORDS_PATH, json={"records": batch}, headers=self._headers, timeout=timeout
                )
            except httpx.HTTPError as exc:
                self._failed(f"{type(exc).__name__}: {exc}" if str(exc) else repr(exc))
                return batch
            status = answer.status_code
            if status == 200:
                self._taken(answer, len(batch))
                return None
            if status >= 500 or status in _RETRIED:
                self._failed(f"HTTP {status} from {RECORDS_PATH}")
                return batch
            batch = self._refused(answer, batch)
            with self._lock:
                self._in_flight = len(batch)
        with self._lock:
            self._in_flight = 0
        return None

    def _taken(self, answer: httpx.Response, count: int) -> None:
        try:
            body = answer.json()
            duplicates = int(body.get("duplicates", 0))
        except (ValueError, AttributeError, TypeError):
            duplicates = 0
        with self._lock:
            self._in_flight = 0
            self.stats.sent += count - duplicates
            self.stats.duplicates += duplicates
            lost, self._dropped_in_outage = self._dropped_in_outage, 0
        if self._outage is not None or lost:
            logger.warning(
                "v1 records reach %s again%s",
                self.base_url,
                f"; {lost} were dropped meanwhile (queue full)" if lost else "",
            )
            self._outage = None

    def _failed(self, reason: str) -> None:
        self.stats.failures += 1
        if self._outage is None:
            logger.warning(
                "v1 records cannot be reported to %s (%s): kept (at most %d) and retried",
                self.base_url,
                reason,
                self._max_queue,
            )
            self._outage = reason

    def _refused(self, answer: httpx.Response, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The rest of ``batch`` to send again after a refusal: without the one record a 422
        names, else nothing (the batch itself was refused)."""
        error = _error_of(answer)
        param = str(error.get("param") or "")
        found = _REJECTED_ONE.match(param)
        index = int(found.group(1)) if found else -1
        kind = f"{answer.status_code}:{param.split('.', 1)[-1] if found else param}"
        if kind not in self._said:
            self._said.add(kind)
            logger.error(
                "%s refused %s (HTTP %d: %s): dropped",
                self.base_url,
                "a v1 record" if 0 <= index < len(batch) else "a batch of v1 records",
                answer.status_code,
                str(error.get("message") or "")[:300],
            )
        if 0 <= index < len(batch):
            self.stats.rejected += 1
            return batch[:index] + batch[index + 1 :]
        self.stats.rejected += len(batch)
        return []

    def _say_dropping(self) -> None:
        logger.warning(
            "v1 record queue for %s is full (%d): dropping the oldest until it takes them",
            self.base_url,
            self._max_queue,
        )


def _error_of(answer: httpx.Response) -> dict[str, Any]:
    try:
        error = answer.json().get("error")
    except (ValueError, AttributeError):
        return {}
    return error if isinstance(error, dict) else {}


def _next_backoff(current: float, ceiling: float) -> float:
    """Double, from :data:`FIRST_BACKOFF_S` up to ``ceiling``, with ±20 % jitter."""
    base = min(FIRST_BACKOFF_S, ceiling) if current <= 0 else min(ceiling, current * 2)
    return base * random.uniform(0.8, 1.2)


_REPORTERS: dict[tuple[str, str | None], V1Reporter] = {}
_LOCK = threading.Lock()
_AT_EXIT: list[bool] = []  # registered once


def v1_reporter(base_url: str, api_key: str | None) -> V1Reporter:
    """The one reporter of this process for ``base_url`` (started on first use, flushed at
    interpreter exit)."""
    ident = (base_url.rstrip("/"), api_key)
    with _LOCK:
        reporter = _REPORTERS.get(ident)
        if reporter is None:
            settings = get_settings()
            reporter = _REPORTERS[ident] = V1Reporter(
                base_url,
                api_key,
                max_queue=settings.GATEWAY_V1_REPORT_QUEUE_MAX,
                exit_s=settings.GATEWAY_V1_REPORT_EXIT_S,
            )
            if not _AT_EXIT:
                atexit.register(close_v1_reporters)
                _AT_EXIT.append(True)
        return reporter


def close_v1_reporters(timeout_s: float | None = None) -> int:
    """Flush and stop every reporter (at exit; tests); the records not delivered."""
    with _LOCK:
        reporters = list(_REPORTERS.values())
        _REPORTERS.clear()
    return sum(reporter.close(timeout_s) for reporter in reporters)
