"""Running the scorecard: every cell through a fresh gateway in front of the simulator.

``run_scorecard(pace)`` starts one simulator, then for each cell sets the simulator's scenario,
serves a fresh gateway, sends one request with the ``openai`` SDK, reads the simulator's attempt
log and judges the cell (:mod:`llm_gateway.faults.scoring`); then the outage cell
(:mod:`llm_gateway.faults.outage`). ``progress`` hears of each cell as it starts and ends.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from llm_gateway.faults.caller import call, client_for
from llm_gateway.faults.cells import MESSAGES, PRIMARY, PROVIDER_MODELS, Cell, Pace, cells
from llm_gateway.faults.scoring import Attempt, describe_attempts, judge
from llm_gateway.faults.servers import gateway_settings, model_health, served_gateway
from llm_gateway.simulator.testing import SimulatorHandle, run_simulator

_LOGICAL = {provider: logical for logical, provider in PROVIDER_MODELS.items()}


@dataclass(frozen=True, slots=True)
class CellResult:
    """One scored cell, ready to print."""

    key: str
    title: str
    mode: str
    best: str
    caller: str
    upstream: str
    passed: bool
    problems: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def verdict(self) -> str:
        return "PASS" if self.passed else "FAIL"


@dataclass(frozen=True, slots=True)
class Scorecard:
    pace: Pace
    results: list[CellResult]
    elapsed_s: float

    @property
    def passed(self) -> bool:
        return all(result.passed for result in self.results)

    @property
    def failures(self) -> list[CellResult]:
        return [result for result in self.results if not result.passed]


class Progress(Protocol):
    def started(self, name: str) -> None: ...

    def finished(self, result: CellResult) -> None: ...


class _Silent:
    def started(self, name: str) -> None:
        return None

    def finished(self, result: CellResult) -> None:
        return None


def cell_count(pace: Pace) -> int:
    """How many results a run of ``pace`` produces (the outage cell included)."""
    from llm_gateway.faults.outage import outage_modes

    return len(cells(pace)) + len(outage_modes(pace))


def run_scorecard(
    pace: Pace, progress: Progress | None = None, *, only: Sequence[str] = ()
) -> Scorecard:
    """Every cell of ``pace`` (only those whose key is in ``only``, when given)."""
    from llm_gateway.faults.outage import outage_modes, run_outage

    report = progress or _Silent()
    started = time.monotonic()
    results: list[CellResult] = []
    with (
        tempfile.TemporaryDirectory(prefix="llm-gateway-faults-") as tmp,
        run_simulator(scenario_for({}, pace)) as sim,
    ):
        for index, cell in enumerate(cells(pace)):
            if only and cell.key not in only:
                continue
            report.started(f"{cell.title} ({cell.mode})")
            result = run_cell(cell, pace, sim, Path(tmp) / f"cell-{index}")
            results.append(result)
            report.finished(result)
        if not only or "outage" in only:
            for stream in outage_modes(pace):
                report.started(f"primary down, then back ({'stream' if stream else 'non-stream'})")
                result = run_outage(pace, sim, Path(tmp) / f"outage-{stream}", stream=stream)
                results.append(result)
                report.finished(result)
    return Scorecard(pace, results, time.monotonic() - started)


def scenario_for(faults: dict[str, list[dict[str, Any]]], pace: Pace, **models: Any) -> dict:
    """The simulator's scenario: ``faults`` per logical model, the pace's latency for all."""
    entries: dict[str, Any] = {"*": {"ttft_s": pace.ttft_s, "tokens_per_s": pace.tokens_per_s}}
    for logical, specs in faults.items():
        entries[PROVIDER_MODELS[logical]] = {"faults": specs}
    for logical, extra in models.items():
        entries.setdefault(PROVIDER_MODELS[logical], {}).update(extra)
    return {
        "seed": 14,
        "processing_interval_s": 0.5,
        "answer": {"min_words": 24, "max_words": 40},
        "models": entries,
    }


def run_cell(cell: Cell, pace: Pace, sim: SimulatorHandle, workdir: Path) -> CellResult:
    """One request of ``cell`` through a fresh gateway, scored."""
    started = time.monotonic()
    refusing = {logical: {"rejects_prefill": True} for logical in cell.rejects_prefill}
    sim.set_scenario(scenario_for(cell.faults, pace, **refusing))
    sim.clear()
    expected = sim.answer_for(MESSAGES)
    workdir.mkdir(parents=True, exist_ok=True)
    failures: int | None = None
    with served_gateway(gateway_settings(pace, sim.base_url, workdir)) as url:
        with client_for(url, pace.caller_timeout_s) as client:
            outcome = call(client, PRIMARY, MESSAGES, stream=cell.stream, extra=cell.extra)
        if cell.expect.primary_unharmed:
            failures = int(model_health(url, PRIMARY).get("consecutive_failures", 0))
    attempts = attempts_by_model(sim)
    verdict = judge(cell, outcome, attempts, expected, primary_failures_after=failures)
    return CellResult(
        cell.key,
        cell.title,
        cell.mode,
        cell.best,
        outcome.describe(),
        describe_attempts(attempts),
        verdict.passed,
        verdict.problems,
        time.monotonic() - started,
    )


def attempts_by_model(
    sim: SimulatorHandle, keep: Callable[[float], bool] = lambda t: True
) -> dict[str, list[Attempt]]:
    """The simulator's attempt log per logical model (``keep`` filters on receipt time)."""
    grouped: dict[str, list[Attempt]] = {}
    for record in sim.attempts():
        if not keep(record.t):
            continue
        model = _LOGICAL.get(record.model or "", record.model or "?")
        grouped.setdefault(model, []).append(Attempt(record.t, record.status, record.fault))
    return grouped
