"""Running the scorecard: every cell through a fresh gateway in front of the simulator.

``run_scorecard(pace)`` starts one simulator, then for each cell sets the simulator's scenario,
serves a fresh gateway, sends one request with the ``openai`` SDK, reads the simulator's attempt
log and judges the cell (:mod:`llm_gateway.faults.scoring`); then the outage cell
(:mod:`llm_gateway.faults.outage`) and the hostile-input cases (:mod:`llm_gateway.faults.hostile`).
``progress`` hears of each step as it starts and ends.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from llm_gateway.faults.caller import call, client_for
from llm_gateway.faults.cells import MESSAGES, PRIMARY, Cell, Pace, cells
from llm_gateway.faults.hostile import HostileResult, run_hostile
from llm_gateway.faults.outage import outage_modes, run_outage
from llm_gateway.faults.results import CellResult, Scorecard
from llm_gateway.faults.scoring import describe_attempts, judge
from llm_gateway.faults.servers import gateway_settings, model_health, served_gateway
from llm_gateway.faults.upstream import attempts_by_model, scenario_for
from llm_gateway.simulator.testing import SimulatorHandle, run_simulator


class Progress(Protocol):
    def started(self, name: str) -> None: ...

    def finished(self, name: str, passed: bool, detail: str) -> None: ...


class _Silent:
    def started(self, name: str) -> None:
        return None

    def finished(self, name: str, passed: bool, detail: str) -> None:
        return None


def step_count(pace: Pace) -> int:
    """How many steps a whole run of ``pace`` reports: cells, outage modes, hostile input."""
    return len(cells(pace)) + len(outage_modes(pace)) + 1


def run_scorecard(
    pace: Pace, progress: Progress | None = None, *, only: Sequence[str] = ()
) -> Scorecard:
    """Every cell of ``pace``, the outage and the hostile cases (only the cells whose key is in
    ``only`` when given; ``outage`` and ``hostile`` are keys too)."""
    report = progress or _Silent()
    started = time.monotonic()
    results: list[CellResult] = []
    hostile: list[HostileResult] = []
    with (
        tempfile.TemporaryDirectory(prefix="llm-gateway-faults-") as tmp,
        run_simulator(scenario_for({}, pace)) as sim,
    ):
        # One record store and spool for every cell's gateway (each cell's gateway is fresh, its
        # state in memory is not): migrating a new database per cell only costs time.
        work = Path(tmp) / "gateway"
        for cell in cells(pace):
            if not only or cell.key in only:
                report.started(f"{cell.title} ({cell.mode})")
                results.append(_told(report, run_cell(cell, pace, sim, work)))
        for stream in outage_modes(pace) if not only or "outage" in only else ():
            report.started(f"primary down, then back ({'stream' if stream else 'non-stream'})")
            results.append(_told(report, run_outage(pace, sim, work, stream=stream)))
        if not only or "hostile" in only:
            report.started("hostile input")
            sim.set_scenario(scenario_for({}, pace))
            hostile = run_hostile(pace, sim.base_url, Path(tmp) / "hostile")
            bad = [h.name for h in hostile if not h.passed]
            summary = f"{len(hostile) - len(bad)}/{len(hostile)} cases as they should be"
            report.finished("hostile input", not bad, "; ".join(bad) or summary)
    return Scorecard(pace, results, hostile, time.monotonic() - started)


def _told(report: Progress, result: CellResult) -> CellResult:
    detail = "; ".join(result.problems) or result.upstream
    report.finished(f"{result.title} ({result.mode})", result.passed, detail)
    return result


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
