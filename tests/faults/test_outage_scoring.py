"""Scoring the outage cell: hammering the primary, probing it too often or noticing its recovery
late are each a FAIL; the best outcome passes."""

from __future__ import annotations

from llm_gateway.faults.caller import CallerOutcome
from llm_gateway.faults.cells import FALLBACK, PRIMARY, QUICK
from llm_gateway.faults.outage import SentRequest, score_outage
from llm_gateway.faults.scoring import Attempt

ANSWER = "the complete answer"
EVERY = QUICK.traffic_interval_s


def traffic(count: int, *, primary_from: float) -> list[SentRequest]:
    """A request every EVERY seconds, 0.1 s long; answered by the primary from ``primary_from``."""
    sent = []
    for index in range(count):
        started = index * EVERY
        model = PRIMARY if started >= primary_from else FALLBACK
        outcome = CallerOutcome("answer", 200, ANSWER, model, "stop")
        sent.append(SentRequest(started, started + 0.1, outcome))
    return sent


def best_primary_attempts(sent: list[SentRequest], back_at: float) -> list[Attempt]:
    """Two attempts in each of the first `threshold` requests, then one probe per cool-down."""
    attempts = []
    for request in sent[: QUICK.circuit_threshold]:
        attempts += [Attempt(request.started, 503), Attempt(request.started + 0.05, 503)]
    probe_at = sent[QUICK.circuit_threshold].started
    while probe_at < back_at:
        attempts.append(Attempt(probe_at, 503))
        probe_at += QUICK.circuit_cooldown_s * 2
    return [*attempts, Attempt(back_at + 0.5, 200)]


def test_the_best_outcome_passes() -> None:
    back_at = QUICK.outage_s
    sent = traffic(20, primary_from=back_at + 0.5)
    problems, summary = score_outage(QUICK, sent, best_primary_attempts(sent, back_at), ANSWER)
    assert problems == []
    assert "back in use" in summary


def test_a_late_recovery_fails() -> None:
    back_at = QUICK.outage_s
    late = back_at + QUICK.recovery_bound_s + 1
    sent = traffic(40, primary_from=late)
    problems, _ = score_outage(QUICK, sent, best_primary_attempts(sent, back_at), ANSWER)
    assert problems and "recovery noticed after" in problems[0]


def test_a_hammered_primary_fails() -> None:
    back_at = QUICK.outage_s
    sent = traffic(20, primary_from=back_at + 0.5)
    attempts = [Attempt(0.0 + n * 0.01, 503) for n in range(4)]
    attempts += best_primary_attempts(sent, back_at)[2:]
    problems, _ = score_outage(QUICK, sent, attempts, ANSWER)
    assert "a request made 4 primary attempts during the outage" in problems


def test_probing_faster_than_the_cool_down_fails() -> None:
    back_at = QUICK.outage_s
    sent = traffic(20, primary_from=back_at + 0.5)
    opened = sent[QUICK.circuit_threshold].started
    attempts = best_primary_attempts(sent, back_at)[: 2 * QUICK.circuit_threshold]
    attempts += [Attempt(opened, 503), Attempt(opened + 0.1, 503), Attempt(back_at + 0.5, 200)]
    problems, _ = score_outage(QUICK, sent, attempts, ANSWER)
    assert any("less than one cool-down" in p for p in problems)


def test_a_caller_without_the_complete_answer_fails() -> None:
    back_at = QUICK.outage_s
    sent = traffic(20, primary_from=back_at + 0.5)
    cut = CallerOutcome("unfinished", 200, ANSWER[:5], FALLBACK, None)
    sent[3] = SentRequest(sent[3].started, sent[3].ended, cut)
    problems, _ = score_outage(QUICK, sent, best_primary_attempts(sent, back_at), ANSWER)
    assert problems and "1 caller(s) without the complete answer" in problems[0]
