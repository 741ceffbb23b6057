"""The quick fault scorecard, as ``make faults`` runs it in full: every upstream failure class
through the served gateway in front of the simulator (real HTTP, the openai SDK), and the
hostile-input cases. One run per module; each cell and each case is its own test, so a failure
names the cell and says what fell short of its best possible outcome."""

from __future__ import annotations

import pytest

from llm_gateway.faults.cells import QUICK, cells
from llm_gateway.faults.hostile import CASES
from llm_gateway.faults.outage import outage_modes
from llm_gateway.faults.report import render_markdown
from llm_gateway.faults.results import Scorecard
from llm_gateway.faults.runner import run_scorecard

CELLS = [(cell.title, cell.mode) for cell in cells(QUICK)]
CELLS += [
    ("primary down, then back, under steady traffic", "stream" if stream else "non-stream")
    for stream in outage_modes(QUICK)
]


@pytest.fixture(scope="module")
def scorecard() -> Scorecard:
    return run_scorecard(QUICK)


@pytest.mark.parametrize(("title", "mode"), CELLS, ids=[f"{t} ({m})" for t, m in CELLS])
def test_cell_has_its_best_possible_outcome(scorecard: Scorecard, title: str, mode: str) -> None:
    [result] = [r for r in scorecard.results if (r.title, r.mode) == (title, mode)]
    assert result.passed, f"{result.caller} | {result.upstream} | {'; '.join(result.problems)}"


@pytest.mark.parametrize("name", [case.name for case in CASES])
def test_hostile_input_is_refused_and_the_gateway_stays_healthy(
    scorecard: Scorecard, name: str
) -> None:
    [result] = [h for h in scorecard.hostile if h.name == name]
    assert result.healthy_after
    assert result.passed, "; ".join(result.problems)


def test_the_report_has_a_row_per_cell_and_case(scorecard: Scorecard) -> None:
    text = render_markdown(scorecard)
    rows = [line for line in text.splitlines() if line.startswith("| ") and "---" not in line]
    assert len(rows) == len(CELLS) + len(CASES) + 2  # and the two header rows
    verdicts = [row.rsplit("|", 2)[-2].strip() for row in rows]
    assert verdicts.count("PASS") == len(CELLS) + len(CASES)
