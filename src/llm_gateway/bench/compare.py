"""Derived figures: what each proxy adds over the direct run, gateway/LiteLLM ratios per cell, and
the issue's targets judged against a sweep."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from llm_gateway.bench.results import Cell, CellResult, SweepResult
from llm_gateway.bench.stats import added, ratio


@dataclass(frozen=True, slots=True)
class CellComparison:
    """One cell across targets. ``added_*`` are ms over direct; ratios are gateway/LiteLLM for
    throughput and LiteLLM/gateway for added latency (both: how many times better)."""

    cell: Cell
    rps: dict[str, float | None]
    added_latency: dict[str, dict[str, float] | None]
    added_ttfb: dict[str, dict[str, float] | None]
    cpu_ms: dict[str, float | None]
    errors: dict[str, int | None]
    throughput_ratio: float | None
    added_p50_ratio: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "cell": self.cell.label,
            "rps": self.rps,
            "added_latency_ms": self.added_latency,
            "added_ttfb_ms": self.added_ttfb,
            "server_cpu_ms_per_request": self.cpu_ms,
            "errors": self.errors,
            "throughput_ratio_gateway_over_litellm": self.throughput_ratio,
            "added_p50_ratio_litellm_over_gateway": self.added_p50_ratio,
        }


def _added_p50(entry: dict[str, float] | None) -> float | None:
    return entry["p50"] if entry else None


def compare_cell(sweep: SweepResult, cell: Cell) -> CellComparison:
    """The comparison of one cell; missing targets give None entries."""
    runs: dict[str, CellResult | None] = {
        name: sweep.result(name, cell) for name in ("direct", "gateway", "litellm")
    }
    direct = runs["direct"]
    rps = {name: run.rps if run else None for name, run in runs.items()}
    lat = {
        name: added(run.latency, direct.latency) if run and direct else None
        for name, run in runs.items()
        if name != "direct"
    }
    ttfb = {
        name: added(run.ttfb, direct.ttfb) if run and direct else None
        for name, run in runs.items()
        if name != "direct"
    }
    gateway_p50, litellm_p50 = _added_p50(lat["gateway"]), _added_p50(lat["litellm"])
    return CellComparison(
        cell=cell,
        rps=rps,
        added_latency=lat,
        added_ttfb=ttfb,
        cpu_ms={name: run.server_cpu_ms_per_request if run else None for name, run in runs.items()},
        errors={name: run.error_count if run else None for name, run in runs.items()},
        throughput_ratio=ratio(rps["gateway"], rps["litellm"]),
        added_p50_ratio=ratio(litellm_p50, max(gateway_p50, 0.001) if gateway_p50 else None),
    )


def compare(sweep: SweepResult) -> list[CellComparison]:
    return [compare_cell(sweep, cell) for cell in sweep.sweep_cells()]
