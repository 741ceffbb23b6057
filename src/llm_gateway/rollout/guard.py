"""The rollback guard's decision, made purely: given the rules, the flags in force, each arm's
evidence and the guard's last step, whether to step v2's percentage down, and to what.

A step goes to the first of ``steps`` below the current percentage (100 → 50 → 25 → 0, the
guide's gradual rollback); per-node percentages above it are lowered to it too. Nothing is
decided while v2 is off, while a person has pinned the flags, while either arm has fewer than
``min_requests`` judged requests in the window, or within ``cooldown`` of the last step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from llm_gateway.rollout.evidence import ArmEvidence
from llm_gateway.rollout.flags import RolloutFlags
from llm_gateway.rollout.guard_rules import GuardRule, GuardSpec


@dataclass(frozen=True, slots=True)
class Breach:
    rule: GuardRule
    v1: float
    v2: float

    def describe(self) -> str:
        return f"{self.rule.describe()} (v1 {self.v1:g}, v2 {self.v2:g})"


@dataclass(frozen=True, slots=True)
class Step:
    """Step the percentage from ``before`` to ``after`` because of ``breaches``."""

    before: int
    after: int
    node_percentages: dict[str, int]
    breaches: tuple[Breach, ...]

    def reason(self) -> str:
        return "; ".join(b.describe() for b in self.breaches)


def breaches(spec: GuardSpec, v1: ArmEvidence, v2: ArmEvidence) -> tuple[Breach, ...]:
    """The rules v2 breaks against v1 (every rule judged, for the record)."""
    found = []
    for rule in spec.rules:
        if rule.metric == "error_rate_above_v1":
            a, b = v1.error_rate * 100, v2.error_rate * 100
            broken = b > a + rule.threshold
        elif rule.metric == "p95_latency_above_v1":
            a, b = v1.p95_latency_ms, v2.p95_latency_ms
            broken = b > rule.threshold * a
        else:
            a, b = v1.cost_per_request, v2.cost_per_request
            broken = b > rule.threshold * a
        if broken:
            found.append(Breach(rule, round(a, 6), round(b, 6)))
    return tuple(found)


def next_step(steps: tuple[int, ...], current: int) -> int | None:
    """The first step below ``current`` (None at 0)."""
    return next((s for s in steps if s < current), None)


def decide(
    spec: GuardSpec,
    flags: RolloutFlags,
    evidence: dict[str, ArmEvidence],
    last_step: dict[str, Any] | None,
    now: float,
) -> Step | None:
    """The step to take now, or None (see the module docstring)."""
    if not flags.v2_enabled or flags.pinned:
        return None
    current = max([flags.v2_percentage, *flags.node_percentages.values()])
    after = next_step(spec.steps, current)
    if after is None:
        return None
    if last_step is not None and now - float(last_step.get("at") or 0.0) < spec.cooldown:
        return None
    v1, v2 = evidence.get("v1", ArmEvidence()), evidence.get("v2", ArmEvidence())
    if v1.requests < spec.min_requests or v2.requests < spec.min_requests:
        return None
    broken = breaches(spec, v1, v2)
    if not broken:
        return None
    nodes = {node: min(pct, after) for node, pct in flags.node_percentages.items()}
    return Step(current, after, nodes, broken)
