"""Judging a cell: every way an observation can fall short of the best outcome is a FAIL."""

from __future__ import annotations

from llm_gateway.faults.caller import CallerOutcome
from llm_gateway.faults.cells import FALLBACK, PRIMARY, QUICK, Cell, cells
from llm_gateway.faults.scoring import Attempt, describe_attempts, judge

ANSWER = "the whole answer, every word of it"
CELLS = {(cell.key, cell.mode): cell for cell in cells(QUICK)}
PERSISTENT_503 = CELLS[("503-persistent", "stream")]
RETRY_AFTER_ONCE = CELLS[("429-retry-after-once", "non-stream")]
REQUEST_4XX = CELLS[("request-shaped-4xx", "non-stream")]


USAGE = {"completion_tokens": len(ANSWER.split()), "cost": 0.0001}


def answered(
    text: str = ANSWER, finish: str | None = "stop", usage: dict | None = USAGE
) -> CallerOutcome:
    kind = "answer" if finish else "unfinished"
    return CallerOutcome(kind, 200, text, PRIMARY, finish, usage=usage)


def seen(*times: float, status: int = 503) -> list[Attempt]:
    return [Attempt(t, status) for t in times]


def test_the_best_outcome_passes() -> None:
    attempts = {PRIMARY: seen(0.0, 0.1), FALLBACK: seen(0.2, status=200)}
    verdict = judge(PERSISTENT_503, answered(), attempts, ANSWER)
    assert verdict.passed and verdict.problems == []


def test_a_hammered_primary_fails() -> None:
    attempts = {PRIMARY: seen(0.0, 0.1, 0.3, 0.6), FALLBACK: seen(0.7, status=200)}
    verdict = judge(PERSISTENT_503, answered(), attempts, ANSWER)
    assert verdict.problems == [f"{PRIMARY} got 4 attempt(s), best is 1-2"]


def test_a_truncated_answer_presented_as_success_fails() -> None:
    attempts = {PRIMARY: seen(0.0, 0.1), FALLBACK: seen(0.2, status=200)}
    shorter = judge(PERSISTENT_503, answered(ANSWER[:10]), attempts, ANSWER)
    unfinished = judge(PERSISTENT_503, answered(ANSWER, None), attempts, ANSWER)
    assert not shorter.passed and "presented as complete" in shorter.problems[0]
    assert not unfinished.passed and "truncated" in unfinished.problems[0]


def test_a_stream_whose_model_changes_mid_answer_fails() -> None:
    attempts = {PRIMARY: seen(0.0, status=200), FALLBACK: seen(0.2, status=200)}
    switched = CallerOutcome(
        "answer", 200, ANSWER, PRIMARY, "stop", chunk_models=(PRIMARY, FALLBACK), usage=USAGE
    )
    verdict = judge(CELLS[("cut-mid-stream", "stream")], switched, attempts, ANSWER)
    assert verdict.problems == [f"the answer's model changed mid-stream: {PRIMARY}, {FALLBACK}"]


def test_usage_must_cover_the_answer_and_carry_its_cost() -> None:
    attempts = {PRIMARY: seen(0.0, 0.1), FALLBACK: seen(0.2, status=200)}
    missing = judge(PERSISTENT_503, answered(usage=None), attempts, ANSWER)
    short = judge(
        PERSISTENT_503, answered(usage={**USAGE, "completion_tokens": 2}), attempts, ANSWER
    )
    free = judge(PERSISTENT_503, answered(usage={**USAGE, "cost": None}), attempts, ANSWER)
    assert missing.problems == ["the answer came without usage"]
    assert short.problems == ["usage reports 2 completion tokens for a 7-token answer"]
    assert free.problems == ["the answer's usage has no cost"]


def test_a_hang_fails_whatever_the_attempts() -> None:
    hang = CallerOutcome("hang", 0, elapsed_s=20.0)
    attempts = {PRIMARY: seen(0.0, 0.1), FALLBACK: seen(0.2, status=200)}
    assert "hang" in judge(PERSISTENT_503, hang, attempts, ANSWER).problems[0]


def test_a_retry_sooner_than_retry_after_fails() -> None:
    early = {PRIMARY: [Attempt(0.0, 429), Attempt(QUICK.retry_after_s / 2, 200)]}
    on_time = {PRIMARY: [Attempt(0.0, 429), Attempt(QUICK.retry_after_s, 200)]}
    assert "sooner than" in judge(RETRY_AFTER_ONCE, answered(), early, ANSWER).problems[0]
    assert judge(RETRY_AFTER_ONCE, answered(), on_time, ANSWER).passed


def test_an_error_cell_wants_the_clear_error_and_an_unharmed_model() -> None:
    error = CallerOutcome("error", 400, code="invalid_request_error")
    attempts = {PRIMARY: seen(0.0, status=400)}
    assert judge(REQUEST_4XX, error, attempts, ANSWER).passed
    harmed = judge(REQUEST_4XX, error, attempts, ANSWER, primary_failures_after=1)
    assert "harmed" in harmed.problems[0]
    in_band = CallerOutcome("error", 200, "partial", code="x", in_band=True)
    assert not judge(REQUEST_4XX, in_band, attempts, ANSWER).passed
    fallback = judge(REQUEST_4XX, error, {**attempts, FALLBACK: seen(0.1)}, ANSWER)
    assert fallback.problems == [f"{FALLBACK} got 1 attempt(s), best is 0"]


def test_attempts_are_described_with_their_gaps() -> None:
    attempts = {PRIMARY: [Attempt(1.0, 429), Attempt(1.5, 0)], FALLBACK: seen(2.0, status=200)}
    text = describe_attempts(attempts)
    assert text == f"{PRIMARY} x2 [429, none] gap 0.50 s; {FALLBACK} x1 [200]"


def test_every_cell_declares_its_best_outcome() -> None:
    for cell in CELLS.values():
        assert isinstance(cell, Cell) and cell.best and PRIMARY in cell.expect.attempts
