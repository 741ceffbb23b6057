"""Judging one cell from both sides: what the caller got, and what the upstream saw.

Pure: :func:`judge` takes the cell, the caller's outcome, the simulator's attempts (already
grouped per logical model) and the expected answer text, and returns a :class:`Verdict` whose
``problems`` say, in words, every way the observation falls short of the cell's best outcome.
Whatever the cell, these always fail: a hang, and a finished-looking answer that is not the
complete one (a truncated answer presented as success).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from llm_gateway.faults.caller import CallerOutcome
from llm_gateway.faults.cells import PRIMARY, Cell, Expect

_CLOCK_SLACK_S = 0.02  # the simulator logs receipt, the gateway timed its own sleep


@dataclass(frozen=True, slots=True)
class Attempt:
    """One attempt as the simulator logged it: when (monotonic seconds) and the status sent
    (0: none — a reset, a hang-up or no response)."""

    t: float
    status: int
    fault: str | None = None


@dataclass(frozen=True, slots=True)
class Verdict:
    passed: bool
    problems: list[str] = field(default_factory=list)


def describe_attempts(attempts: Mapping[str, Sequence[Attempt]]) -> str:
    """``gemini-2.5-pro x2 [429, 200] gap 0.40 s; claude-sonnet x1 [200]``."""
    parts = []
    for model, seen in attempts.items():
        if not seen:
            continue
        statuses = ", ".join(str(a.status) if a.status else "none" for a in seen)
        text = f"{model} x{len(seen)} [{statuses}]"
        gaps = [b.t - a.t for a, b in itertools.pairwise(seen)]
        if gaps:
            text += " gap " + ", ".join(f"{gap:.2f}" for gap in gaps) + " s"
        parts.append(text)
    return "; ".join(parts) or "none"


def judge(
    cell: Cell,
    caller: CallerOutcome,
    attempts: Mapping[str, Sequence[Attempt]],
    expected_text: str,
    *,
    primary_failures_after: int | None = None,
) -> Verdict:
    """The verdict of one run of ``cell``. ``primary_failures_after``: the primary's
    consecutive failures as the gateway's health reported them after the request."""
    expect = cell.expect
    problems = _caller_problems(expect, caller, expected_text)
    problems += _attempt_problems(expect, attempts)
    if expect.primary_unharmed and primary_failures_after:
        problems.append(
            f"{PRIMARY} has {primary_failures_after} failure(s) counted against it: "
            "a request's own fault harmed the model's health"
        )
    return Verdict(not problems, problems)


def _caller_problems(expect: Expect, caller: CallerOutcome, expected_text: str) -> list[str]:
    if caller.kind == "hang":
        return [f"the caller got nothing within {caller.elapsed_s:.0f} s (hang)"]
    if caller.kind == "unfinished":
        return ["a truncated answer (no finish_reason) was presented as a success"]
    if caller.kind == "answer" and caller.text != expected_text:
        return [
            f"an answer of {len(caller.text)} chars presented as complete; the complete one has "
            f"{len(expected_text)}"
        ]
    if len(caller.chunk_models) > 1:
        return [f"the answer's model changed mid-stream: {', '.join(caller.chunk_models)}"]
    if expect.caller == "answer":
        if caller.kind != "answer":
            return [f"expected a complete answer, got {caller.describe()}: {caller.message}"]
        return _usage_problems(caller, expected_text)
    if caller.kind != "error":
        return [f"expected a clear error, got {caller.describe()}"]
    problems = []
    if expect.status is not None and (caller.in_band or caller.status != expect.status):
        problems.append(f"expected HTTP {expect.status}, got {caller.describe()}")
    if expect.code is not None and caller.code != expect.code:
        problems.append(f"expected error code {expect.code}, got {caller.code}")
    return problems


def _usage_problems(caller: CallerOutcome, expected_text: str) -> list[str]:
    """The answer's usage covers at least its own text (the simulator: one token per word) and
    carries OpenRouter's ``cost``, streamed or not."""
    usage = caller.usage
    if usage is None:
        return ["the answer came without usage"]
    words = len(expected_text.split())
    completion = usage.get("completion_tokens") or 0
    problems = []
    if completion < words:
        problems.append(f"usage reports {completion} completion tokens for a {words}-token answer")
    if not usage.get("cost"):
        problems.append("the answer's usage has no cost")
    return problems


def _attempt_problems(expect: Expect, attempts: Mapping[str, Sequence[Attempt]]) -> list[str]:
    problems = []
    for model in sorted(set(attempts) | set(expect.attempts)):
        low, high = expect.attempts.get(model, (0, 0))
        count = len(attempts.get(model, ()))
        if not low <= count <= high:
            allowed = f"{low}" if low == high else f"{low}-{high}"
            problems.append(f"{model} got {count} attempt(s), best is {allowed}")
    primary = attempts.get(PRIMARY, ())
    if expect.min_gap_s > 0:
        for a, b in itertools.pairwise(primary):
            if b.t - a.t < expect.min_gap_s - _CLOCK_SLACK_S:
                problems.append(
                    f"{PRIMARY} retried after {b.t - a.t:.2f} s, sooner than the "
                    f"{expect.min_gap_s:.2f} s Retry-After asked"
                )
    return problems
