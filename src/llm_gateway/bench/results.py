"""The values a sweep produces, and their JSON form (``bench/results/latest.json``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from llm_gateway.bench.stats import Distribution

TARGETS = ("direct", "gateway", "litellm")


@dataclass(frozen=True, slots=True)
class Cell:
    """One point of the sweep: streaming or not, closed-loop callers, upstream delay (ms)."""

    stream: bool
    concurrency: int
    delay_ms: float

    @property
    def mode(self) -> str:
        return "stream" if self.stream else "json"

    @property
    def label(self) -> str:
        return f"{self.mode} c={self.concurrency} d={self.delay_ms:g}ms"


@dataclass(slots=True)
class CellResult:
    """One target's measurement of one cell."""

    target: str
    cell: Cell
    completed: int
    errors: dict[str, int]
    elapsed_s: float
    rps: float
    latency: Distribution | None
    ttfb: Distribution | None
    server_cpu_ms_per_request: float | None = None
    server_rss_mb: float | None = None
    loadgen_core_busy_percent: float | None = None
    server_core_others_percent: float | None = None

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["cell"] = {**asdict(self.cell), "mode": self.cell.mode, "label": self.cell.label}
        out["latency_ms"] = self.latency.to_dict() if self.latency else None
        out["ttfb_ms"] = self.ttfb.to_dict() if self.ttfb else None
        del out["latency"], out["ttfb"]
        return out


@dataclass(slots=True)
class TargetInfo:
    """A target's process facts over the whole sweep."""

    name: str
    affinity: str | None = None
    startup_s: float | None = None
    rss_after_start_mb: float | None = None
    rss_at_end_mb: float | None = None
    requests_total: int = 0
    failure: str | None = None


@dataclass(slots=True)
class SweepResult:
    """Everything one ``llm-gateway bench`` run measured, plus how it was run."""

    started_at: str
    settings: dict[str, Any]
    machine: dict[str, Any]
    targets: dict[str, TargetInfo] = field(default_factory=dict)
    cells: list[CellResult] = field(default_factory=list)

    def result(self, target: str, cell: Cell) -> CellResult | None:
        for item in self.cells:
            if item.target == target and item.cell == cell:
                return item
        return None

    def sweep_cells(self) -> list[Cell]:
        """The distinct cells in the order they were run."""
        seen: list[Cell] = []
        for item in self.cells:
            if item.cell not in seen:
                seen.append(item.cell)
        return seen

    def to_dict(self) -> dict[str, Any]:
        return {
            "started_at": self.started_at,
            "settings": self.settings,
            "machine": self.machine,
            "targets": {name: asdict(info) for name, info in self.targets.items()},
            "cells": [item.to_dict() for item in self.cells],
        }
