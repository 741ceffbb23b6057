"""The side-by-side sweep: mocks on the load core, each target in turn on the server core, every
cell driven by the closed-loop load generator from this process (pinned to the load core).

Order: start one mock per upstream delay; then for each target (direct, gateway, LiteLLM) start
it, note its RSS after start, run every cell, stop it. A target that fails to start is recorded
with its failure and skipped; the sweep goes on.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import orjson

from llm_gateway.bench.errors import BenchError
from llm_gateway.bench.http_client import build_request
from llm_gateway.bench.loadgen import LoadSpec, Recorder, run_load
from llm_gateway.bench.procs import (
    affinity,
    core_busy_seconds,
    cpu_seconds,
    free_port,
    rss_bytes,
)
from llm_gateway.bench.results import TARGETS, Cell, CellResult, TargetInfo
from llm_gateway.bench.stats import distribution_ms
from llm_gateway.bench.targets import Endpoint, Upstream, mock_process

MB = 1024 * 1024
SETTLE_AFTER_START_S = 1.0


@dataclass(frozen=True)
class SweepSettings:
    """How a sweep runs. Every cell is bounded by ``max_requests`` and ``max_seconds``."""

    concurrencies: tuple[int, ...] = (1, 10, 50, 200)
    delays_ms: tuple[float, ...] = (0.0, 50.0)
    streams: tuple[bool, ...] = (False, True)
    max_requests: int = 20_000
    max_seconds: float = 8.0
    warmup_seconds: float = 1.0
    targets: tuple[str, ...] = TARGETS
    features: dict[str, str] = field(default_factory=dict)
    chunks: int = 20
    chunk_delay_ms: float = 0.0
    mock_command: str | None = None
    server_core: int = 0
    load_core: int = 1
    timeout_s: float = 30.0
    start_timeout_s: float = 120.0
    # The machine is shared: a cell during which other processes took more than this share of
    # the server's core is run again (keeping the quieter run), at most `noisy_retries` times.
    noisy_percent: float = 20.0
    noisy_retries: int = 1
    # --variants: rounds of interleaved cells, each (target, cell) keeping its best round.
    rounds: int = 3

    def cells(self) -> list[Cell]:
        return [
            Cell(stream, concurrency, delay)
            for delay in self.delays_ms
            for stream in self.streams
            for concurrency in self.concurrencies
        ]


class SweepProgress(Protocol):
    """What the harness tells whoever shows progress."""

    def note(self, message: str) -> None: ...

    def cell_done(self) -> None: ...

    def cell(
        self, target: str, cell: Cell, spec: LoadSpec, recorder: Recorder
    ) -> AbstractAsyncContextManager[None]: ...


def request_body(model: str, stream: bool) -> bytes:
    """The chat request every cell sends (one short user message, 32 tokens max)."""
    body: dict[str, object] = {
        "model": model,
        "messages": [{"role": "user", "content": "Say hello to the benchmark."}],
        "max_tokens": 32,
    }
    if stream:
        body["stream"] = True
    return orjson.dumps(body)


class MockFleet:
    """One mock upstream per delay, all on the load core."""

    def __init__(self, settings: SweepSettings, workdir: Path) -> None:
        self.upstreams = [Upstream(free_port(), delay) for delay in settings.delays_ms]
        self.processes = [
            mock_process(
                u, settings.chunks, settings.chunk_delay_ms, settings.mock_command, workdir
            )
            for u in self.upstreams
        ]
        self._core = settings.load_core

    async def start(self) -> None:
        for upstream, process in zip(self.upstreams, self.processes, strict=True):
            process.start(self._core)
            await process.wait_ready(upstream.port, "/", timeout_s=30)

    def pids(self) -> list[int]:
        return [pid for process in self.processes for pid in process.pids()]

    def stop(self) -> None:
        for process in self.processes:
            process.stop()


def pin_self(core: int) -> None:
    """Pin this process (the load generator) to ``core``."""
    os.sched_setaffinity(0, {core})


def own_cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


async def start_target(endpoint: Endpoint, settings: SweepSettings) -> TargetInfo:
    """Start the endpoint's process on the server core and wait until it answers."""
    info = TargetInfo(name=endpoint.name)
    process = endpoint.process
    if process is None:
        return info
    started = time.monotonic()
    process.start(settings.server_core)
    port = next(iter(endpoint.ports.values()))
    await process.wait_ready(port, endpoint.ready_path, settings.start_timeout_s)
    info.startup_s = time.monotonic() - started
    await asyncio.sleep(SETTLE_AFTER_START_S)
    info.rss_after_start_mb = rss_bytes(process.pids()) / MB
    info.affinity = affinity(process.pid)
    return info


async def run_cell(
    endpoint: Endpoint,
    cell: Cell,
    settings: SweepSettings,
    server_pids: Callable[[], list[int]],
    load_core_pids: Callable[[], list[int]],
    progress: SweepProgress,
) -> CellResult:
    """Drive one cell against one endpoint and measure it, server CPU and RSS included."""
    port = endpoint.ports[cell.delay_ms]
    body = request_body(endpoint.models[cell.delay_ms], cell.stream)
    spec = LoadSpec(
        host="127.0.0.1",
        port=port,
        request=build_request("127.0.0.1", port, endpoint.path, body, endpoint.headers),
        stream=cell.stream,
        concurrency=cell.concurrency,
        max_requests=settings.max_requests,
        max_seconds=settings.max_seconds,
        warmup_seconds=settings.warmup_seconds,
        timeout_s=settings.timeout_s,
        # Our mock sends exactly `chunks` deltas, a final chunk and [DONE]; another mock's
        # streams may vary in length, so only their [DONE] is checked.
        expected_events=settings.chunks + 2 if cell.stream and not settings.mock_command else None,
    )
    recorder = Recorder()
    async with progress.cell(endpoint.name, cell, spec, recorder):
        task = asyncio.ensure_future(run_load(spec, recorder))
        await asyncio.sleep(settings.warmup_seconds)
        before = _CpuSnapshot.take(server_pids(), load_core_pids(), settings.server_core)
        await task
        used = _CpuSnapshot.take(server_pids(), load_core_pids(), settings.server_core) - before
    elapsed = recorder.elapsed
    served = max(recorder.window_completions, 1)
    return CellResult(
        target=endpoint.name,
        cell=cell,
        completed=recorder.completed,
        errors=dict(recorder.errors),
        elapsed_s=elapsed,
        rps=recorder.rate,
        latency=distribution_ms(recorder.latencies),
        ttfb=distribution_ms(recorder.ttfbs) if cell.stream else None,
        server_cpu_ms_per_request=used.server * 1000 / served,
        server_rss_mb=rss_bytes(server_pids()) / MB,
        loadgen_core_busy_percent=used.load / used.wall * 100,
        server_core_others_percent=max(used.server_core - used.server, 0.0) / used.wall * 100,
    )


@dataclass(frozen=True, slots=True)
class _CpuSnapshot:
    """CPU seconds of the server, of the load core's processes (this one included), of the
    server's core as a whole, and wall time; subtract two for the usage in between."""

    server: float
    load: float
    server_core: float
    wall: float

    @classmethod
    def take(cls, server_pids: list[int], load_pids: list[int], core: int) -> _CpuSnapshot:
        return cls(
            server=cpu_seconds(server_pids),
            load=cpu_seconds(load_pids) + own_cpu_seconds(),
            server_core=core_busy_seconds(core),
            wall=time.perf_counter(),
        )

    def __sub__(self, other: _CpuSnapshot) -> _CpuSnapshot:
        return _CpuSnapshot(
            self.server - other.server,
            self.load - other.load,
            self.server_core - other.server_core,
            max(self.wall - other.wall, 1e-9),
        )


async def run_target(
    endpoint: Endpoint,
    settings: SweepSettings,
    fleet: MockFleet,
    progress: SweepProgress,
) -> tuple[TargetInfo, list[CellResult]]:
    """Start one target, run every cell against it, stop it. Start failures are recorded."""
    process = endpoint.process
    try:
        progress.note(f"starting {endpoint.name}")
        info = await start_target(endpoint, settings)
    except BenchError as exc:
        if process is not None:
            process.stop()
        progress.note(f"{endpoint.name} failed to start: {exc}")
        return TargetInfo(name=endpoint.name, failure=str(exc)), []
    server_pids = process.pids if process is not None else fleet.pids
    load_pids = fleet.pids  # in the direct run the mocks are both server and load core
    results = []
    try:
        for cell in settings.cells():
            result = await run_cell(endpoint, cell, settings, server_pids, load_pids, progress)
            for _ in range(settings.noisy_retries):
                if (result.server_core_others_percent or 0) <= settings.noisy_percent:
                    break
                progress.note(
                    f"{result.server_core_others_percent:.0f}% of core {settings.server_core} "
                    "went to other processes: running the cell again"
                )
                again = await run_cell(endpoint, cell, settings, server_pids, load_pids, progress)
                if (again.server_core_others_percent or 0) < (
                    result.server_core_others_percent or 0
                ):
                    result = again
            results.append(result)
            progress.cell_done()
        info.rss_at_end_mb = rss_bytes(server_pids()) / MB
    finally:
        if process is not None:
            process.stop()
    info.requests_total = sum(item.completed for item in results)
    return info, results
