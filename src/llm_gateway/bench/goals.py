"""The issue's performance targets, judged against one sweep (and a soak, for memory growth).

Throughput targets use each target's peak over the delay-0 cells of a mode (saturation); ratios
divide the two peaks from the same run. Latency targets read fixed cells.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from llm_gateway.bench.compare import compare_cell
from llm_gateway.bench.results import Cell, SweepResult
from llm_gateway.bench.stats import ratio


@dataclass(frozen=True, slots=True)
class Goal:
    """One target: what was measured against which limit; ``met`` is None when not measured."""

    name: str
    measured: float | None
    limit: float
    unit: str
    at_least: bool

    @property
    def met(self) -> bool | None:
        if self.measured is None:
            return None
        return self.measured >= self.limit if self.at_least else self.measured <= self.limit

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "met": self.met}


def peak_rps(sweep: SweepResult, target: str, stream: bool) -> float | None:
    """The highest requests/s of a target over the delay-0 cells of one mode."""
    values = [
        item.rps
        for item in sweep.cells
        if item.target == target and item.cell.stream == stream and item.cell.delay_ms == 0
    ]
    return max(values) if values else None


def cpu_bound_rps(sweep: SweepResult, target: str, stream: bool) -> float | None:
    """What one core could serve judging by CPU alone: 1000 / the lowest CPU ms per request
    over the saturated (50+ callers) delay-0 cells. Unlike requests/s it barely moves when
    other processes share the server's core, so it tells noise from regressions."""
    values = [
        item.server_cpu_ms_per_request
        for item in sweep.cells
        if item.target == target
        and item.cell.stream == stream
        and item.cell.delay_ms == 0
        and item.cell.concurrency >= 50
        and item.server_cpu_ms_per_request
    ]
    return 1000 / min(values) if values else None


def _added(sweep: SweepResult, cell: Cell, key: str, ttfb: bool = False) -> float | None:
    comparison = compare_cell(sweep, cell)
    entry = (comparison.added_ttfb if ttfb else comparison.added_latency)["gateway"]
    return entry[key] if entry else None


def judge_sweep(sweep: SweepResult) -> list[Goal]:
    """Every sweep target of the issue, met or not."""
    json_peak = peak_rps(sweep, "gateway", stream=False)
    stream_peak = peak_rps(sweep, "gateway", stream=True)
    one_json, one_stream = Cell(False, 1, 0.0), Cell(True, 1, 0.0)
    fifty_slow = Cell(False, 50, 50.0)
    rss = sweep.targets.get("gateway")
    return [
        Goal("non-streaming throughput", json_peak, 2000, "req/s", True),
        Goal(
            "non-streaming throughput vs LiteLLM",
            ratio(json_peak, peak_rps(sweep, "litellm", stream=False)),
            15,
            "x",
            True,
        ),
        Goal(
            "non-streaming throughput, CPU-bound estimate",
            cpu_bound_rps(sweep, "gateway", stream=False),
            2000,
            "req/s",
            True,
        ),
        Goal("streaming throughput (20 chunks)", stream_peak, 800, "streams/s", True),
        Goal(
            "streaming throughput vs LiteLLM",
            ratio(stream_peak, peak_rps(sweep, "litellm", stream=True)),
            15,
            "x",
            True,
        ),
        Goal(
            "streaming throughput, CPU-bound estimate",
            cpu_bound_rps(sweep, "gateway", stream=True),
            800,
            "streams/s",
            True,
        ),
        Goal("added latency p50, 1 caller", _added(sweep, one_json, "p50"), 0.5, "ms", False),
        Goal("added latency p99, 1 caller", _added(sweep, one_json, "p99"), 1.5, "ms", False),
        Goal(
            "added time to first byte p50, 1 stream",
            _added(sweep, one_stream, "p50", ttfb=True),
            1.0,
            "ms",
            False,
        ),
        Goal(
            "added latency p99, 50 callers, 50 ms upstream",
            _added(sweep, fifty_slow, "p99"),
            10,
            "ms",
            False,
        ),
        Goal("RSS after start", rss.rss_after_start_mb if rss else None, 150, "MB", False),
    ]
