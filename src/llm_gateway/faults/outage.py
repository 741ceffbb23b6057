"""The outage cell: the primary is down for a while, then back, under steady traffic.

One request every ``pace.traffic_interval_s`` while the simulator answers the primary with 503s
for ``pace.outage_s`` (from its first attempt), and on until the primary answers again (or the
recovery bound has passed). Best outcome:

- every caller gets the complete answer (from the fallback while the primary is down);
- the primary is hammered by nobody: at most 2 attempts per request until its circuit opens
  (``GATEWAY_CIRCUIT_FAILURE_THRESHOLD`` requests), then at most one probe per cool-down;
- the recovery is noticed: the primary answers again within ``pace.recovery_bound_s`` of being
  back.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from llm_gateway.faults.caller import CallerOutcome, call, client_for
from llm_gateway.faults.cells import FALLBACK, MAX_TOKENS, MESSAGES, PRIMARY, Pace
from llm_gateway.faults.results import CellResult
from llm_gateway.faults.scoring import Attempt
from llm_gateway.faults.servers import gateway_settings, served_gateway
from llm_gateway.faults.upstream import attempts_by_model, scenario_for
from llm_gateway.simulator.testing import SimulatorHandle


def outage_modes(pace: Pace) -> tuple[bool, ...]:
    """Streaming only in the quick form (the issue's case); both in the full form."""
    return (True,) if pace.name == "quick" else (False, True)


@dataclass(frozen=True, slots=True)
class SentRequest:
    started: float
    ended: float
    outcome: CallerOutcome


def run_outage(pace: Pace, sim: SimulatorHandle, workdir: Path, *, stream: bool) -> CellResult:
    began = time.monotonic()
    sim.set_scenario(scenario_for({PRIMARY: [{"kind": "down", "duration_s": pace.outage_s}]}, pace))
    sim.clear()
    expected = sim.answer_for(MESSAGES)
    workdir.mkdir(parents=True, exist_ok=True)
    extra = {"max_tokens": MAX_TOKENS}
    settings = gateway_settings(pace, sim.base_url, workdir)
    with served_gateway(settings) as url, client_for(url, pace.caller_timeout_s) as client:
        sent = _traffic(
            pace, sim, lambda: call(client, PRIMARY, MESSAGES, stream=stream, extra=extra)
        )
    attempts = attempts_by_model(sim)
    problems, summary = score_outage(pace, sent, attempts.get(PRIMARY, []), expected)
    fallback = len(attempts.get(FALLBACK, []))
    return CellResult(
        "outage",
        "primary down, then back, under steady traffic",
        "stream" if stream else "non-stream",
        f"down {pace.outage_s:g} s, a request every {pace.traffic_interval_s:g} s: every caller "
        f"200 (fallback meanwhile), ≤ 2 primary attempts per request until the circuit opens, "
        f"then ≤ 1 probe per cool-down, primary used again ≤ {pace.recovery_bound_s:g} s after "
        "it is back",
        f"{sum(s.outcome.kind == 'answer' for s in sent)}/{len(sent)} answered",
        f"{summary}; {FALLBACK} x{fallback}",
        not problems,
        problems,
        time.monotonic() - began,
    )


def _traffic(
    pace: Pace, sim: SimulatorHandle, send: Callable[[], CallerOutcome]
) -> list[SentRequest]:
    """Requests on a fixed schedule until the primary answers after its recovery, or the
    recovery bound (plus two intervals) has passed; bounded in count too."""
    sent: list[SentRequest] = []
    first = time.monotonic()
    limit = int((pace.outage_s + pace.recovery_bound_s) / pace.traffic_interval_s) + 10
    for index in range(limit):
        due = first + index * pace.traffic_interval_s
        time.sleep(max(0.0, due - time.monotonic()))
        started = time.monotonic()
        outcome = send()
        sent.append(SentRequest(started, time.monotonic(), outcome))
        back_at = _back_at(pace, sim)
        if back_at is None:
            continue
        if started > back_at and outcome.model == PRIMARY:
            break
        if started > back_at + pace.recovery_bound_s + 2 * pace.traffic_interval_s:
            break
    return sent


def _back_at(pace: Pace, sim: SimulatorHandle) -> float | None:
    """When the simulator's outage ends: ``outage_s`` after the primary's first attempt."""
    primary = attempts_by_model(sim).get(PRIMARY)
    return primary[0].t + pace.outage_s if primary else None


def score_outage(
    pace: Pace, sent: list[SentRequest], primary: list[Attempt], expected: str
) -> tuple[list[str], str]:
    """``(problems, summary)`` of an outage run: the requests sent, the primary's attempts as
    the simulator logged them (the outage began with the first), the complete answer."""
    problems = _incomplete(sent, expected)
    back_at = primary[0].t + pace.outage_s if primary else None
    down = [a for a in primary if back_at is not None and a.t < back_at]
    per_request = [sum(s.started <= a.t <= s.ended for a in down) for s in sent]
    if max(per_request, default=0) > 2:
        problems.append(f"a request made {max(per_request)} primary attempts during the outage")
    # The circuit opens once `threshold` requests have failed on the primary; after that every
    # attempt on it is a probe, at most one per cool-down.
    opened = sent[pace.circuit_threshold].started if len(sent) > pace.circuit_threshold else None
    probes = [a for a in down if opened is not None and a.t >= opened]
    gaps = [b.t - a.t for a, b in itertools.pairwise(probes)]
    close = [gap for gap in gaps if gap < pace.circuit_cooldown_s]
    if close:
        problems.append(f"probes {min(close):.2f} s apart, less than one cool-down")
    summary = f"{PRIMARY} x{len(primary)} ({len(down)} while down, {len(probes)} probes)"
    if back_at is None:
        return [*problems, f"{PRIMARY} never received an attempt"], summary
    after = [s for s in sent if s.started > back_at]
    recovered = next((s for s in after if s.outcome.model == PRIMARY), None)
    if recovered is None:
        bound = pace.recovery_bound_s
        return [*problems, f"{PRIMARY} not used again within {bound:g} s of recovering"], summary
    delay = max(0.0, recovered.started - back_at)
    if delay > pace.recovery_bound_s:
        problems.append(f"recovery noticed after {delay:.1f} s (bound {pace.recovery_bound_s:g} s)")
    return problems, f"{summary}, back in use {delay:.1f} s after recovering"


def _incomplete(sent: list[SentRequest], expected: str) -> list[str]:
    missing = [s for s in sent if s.outcome.kind != "answer" or s.outcome.text != expected]
    if not missing:
        return []
    return [
        f"{len(missing)} caller(s) without the complete answer ({missing[0].outcome.describe()})"
    ]
