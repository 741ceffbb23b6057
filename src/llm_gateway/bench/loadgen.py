"""Closed-loop load generator: ``concurrency`` callers, each with its own keep-alive connection,
sending the next request as soon as the last one has been answered.

A run is bounded twice: it stops issuing after ``max_requests`` measured requests or
``max_seconds`` of measurement, whichever comes first, and every request has its own timeout.
Requests started during ``warmup_seconds`` are sent but their latency is not recorded. Each
recorded request gives its latency (request written → response complete) and, for streams, its
time to first byte (→ the first SSE ``data:`` event). Throughput counts every success that
completes inside the measurement window, warm-up requests included, so a server slower than the
window still shows its rate instead of nothing.
"""

from __future__ import annotations

import asyncio
import time
from array import array
from collections import Counter
from dataclasses import dataclass, field

from llm_gateway.bench.http_client import ClientConnection, RequestFailed, Response

RECONNECT_PAUSE_S = 0.05


@dataclass(frozen=True, slots=True)
class LoadSpec:
    """One load run against one HTTP endpoint."""

    host: str
    port: int
    request: bytes
    stream: bool
    concurrency: int
    max_requests: int
    max_seconds: float
    warmup_seconds: float = 0.0
    timeout_s: float = 30.0
    expected_events: int | None = None  # for streams: data events including [DONE]


@dataclass
class Recorder:
    """What a run recorded so far; read while it runs for progress, final once it returns."""

    latencies: array[float] = field(default_factory=lambda: array("d"))
    ttfbs: array[float] = field(default_factory=lambda: array("d"))
    errors: Counter[str] = field(default_factory=Counter)
    issued: int = 0
    window_completions: int = 0
    measure_from: float = 0.0
    last_done: float = 0.0

    @property
    def completed(self) -> int:
        return len(self.latencies)

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    @property
    def elapsed(self) -> float:
        """Seconds from the start of measurement to the last completion inside the window."""
        if not self.last_done:
            return 0.0
        return max(self.last_done - self.measure_from, 1e-9)

    @property
    def rate(self) -> float:
        """Successes per second over the measurement window (0 when none completed in it)."""
        elapsed = self.elapsed
        return self.window_completions / elapsed if elapsed else 0.0


class _Budget:
    """Decides, for each caller, whether it may issue another request and whether it counts."""

    def __init__(self, spec: LoadSpec, recorder: Recorder) -> None:
        now = time.perf_counter()
        self._spec = spec
        self._recorder = recorder
        recorder.measure_from = now + spec.warmup_seconds
        self._deadline = recorder.measure_from + spec.max_seconds

    def next_request(self) -> tuple[bool, bool]:
        """(may issue, is measured)."""
        now = time.perf_counter()
        if now < self._recorder.measure_from:
            return True, False
        if now >= self._deadline or self._recorder.issued >= self._spec.max_requests:
            return False, False
        self._recorder.issued += 1
        return True, True


def _check(spec: LoadSpec, response: Response) -> str | None:
    """The error kind of a complete response, or None when it is a success."""
    if response.status != 200:
        return f"status {response.status}"
    if not spec.stream:
        return None if response.has_choices else "no choices"
    if not response.done_marker:
        return "stream without [DONE]"
    if spec.expected_events is not None and response.data_events != spec.expected_events:
        return "wrong event count"
    return None


def _record(
    spec: LoadSpec, recorder: Recorder, response: Response, started: float, measured: bool
) -> None:
    finished = time.perf_counter()
    in_window = finished >= recorder.measure_from
    problem = _check(spec, response)
    if problem is not None:
        if measured or in_window:
            recorder.errors[problem] += 1
        return
    if in_window:
        recorder.window_completions += 1
        recorder.last_done = finished
    if measured:
        recorder.latencies.append(finished - started)
        if spec.stream:
            recorder.ttfbs.append(response.first_data_at - started)


async def _caller(spec: LoadSpec, budget: _Budget, recorder: Recorder) -> None:
    connection: ClientConnection | None = None
    try:
        while True:
            go, measured = budget.next_request()
            if not go:
                return
            if connection is None or connection.closed:
                try:
                    connection = await ClientConnection.open(spec.host, spec.port)
                except RequestFailed as failure:
                    if measured:
                        recorder.errors[failure.kind] += 1
                    await asyncio.sleep(RECONNECT_PAUSE_S)
                    continue
            started = time.perf_counter()
            try:
                response = await connection.exchange(spec.request, spec.timeout_s)
            except RequestFailed as failure:
                if measured or time.perf_counter() >= recorder.measure_from:
                    recorder.errors[failure.kind] += 1
                continue
            _record(spec, recorder, response, started, measured)
    finally:
        if connection is not None:
            connection.close()


async def run_load(spec: LoadSpec, recorder: Recorder | None = None) -> Recorder:
    """Drive ``spec`` to completion and return what was recorded.

    Pass a Recorder to watch progress while it runs. Never raises for failed requests: they are
    counted in ``recorder.errors`` by kind.
    """
    if spec.concurrency < 1 or spec.max_requests < 1 or spec.max_seconds <= 0:
        raise ValueError("concurrency, max_requests and max_seconds must be positive")
    recorder = recorder if recorder is not None else Recorder()
    budget = _Budget(spec, recorder)
    callers = [_caller(spec, budget, recorder) for _ in range(spec.concurrency)]
    await asyncio.gather(*callers)
    return recorder
