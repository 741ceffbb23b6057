"""Deciding, for one rule, what each scope key's measurement means now — pure: plain values in,
plain decisions out (the scheduler carries them out against the incident store).

Per scope key: a breach (the condition holds on at least ``min_requests`` requests) starts a
pending period; once it has held ``for`` seconds an incident **fires**; while it keeps holding
and ``repeat_after`` has passed since the last notification it **repeats**; when it stops
holding the incident **resolves**. Too few requests to judge changes nothing. An incident of an
``auto_disable_model`` rule ends when its model is enabled again, not before (the model,
out of selection, gets no traffic to judge it by).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from llm_gateway.alerts.incidents import Incident
from llm_gateway.alerts.measures import Measurement
from llm_gateway.alerts.rules import AlertRule


class Verdict(StrEnum):
    FIRE = "fire"
    REPEAT = "repeat"
    RESOLVE = "resolve"


@dataclass(frozen=True, slots=True)
class Decision:
    verdict: Verdict
    scope: str
    value: float | None
    incident: Incident | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class ScopeState:
    """What the last evaluation saw for one scope key (shown in the alert state)."""

    value: float | None
    samples: int
    breach: bool
    pending_since: float | None


def decide(
    rule: AlertRule,
    measured: Mapping[str, Measurement],
    open_incidents: Mapping[str, Incident],
    pending: dict[str, float],
    now: datetime,
    *,
    disabled_models: Collection[str] = (),
) -> tuple[list[Decision], dict[str, ScopeState]]:
    """The decisions for ``rule`` now; ``pending`` (scope → breach start, epoch seconds) is
    updated in place. Also what each scope key looked like."""
    decisions: list[Decision] = []
    states: dict[str, ScopeState] = {}
    at = now.timestamp()
    auto_disable = "auto_disable_model" in rule.actions
    for scope in sorted(set(measured) | set(open_incidents)):
        m = measured.get(scope)
        incident = open_incidents.get(scope)
        judged = m is not None and m.samples >= rule.min_requests
        breach = judged and m is not None and rule.condition.holds(m.value)
        value = m.value if m is not None else None
        if breach:
            since = pending.setdefault(scope, at)
        else:
            since = None
            if judged or m is None:
                pending.pop(scope, None)
        states[scope] = ScopeState(value, m.samples if m else 0, breach, since)
        if incident is not None and auto_disable and (incident.detail or {}).get("disabled_model"):
            if scope not in disabled_models:
                decisions.append(
                    Decision(Verdict.RESOLVE, scope, value, incident, "model enabled again")
                )
            continue
        if breach and incident is None and since is not None and at - since >= rule.for_s:
            decisions.append(Decision(Verdict.FIRE, scope, value))
        elif breach and incident is not None and _repeat_due(rule, incident, at):
            decisions.append(Decision(Verdict.REPEAT, scope, value, incident))
        elif not breach and incident is not None and (judged or m is None):
            decisions.append(Decision(Verdict.RESOLVE, scope, value, incident, "back to normal"))
    return decisions, states


def _repeat_due(rule: AlertRule, incident: Incident, at: float) -> bool:
    if rule.repeat_after_s is None:
        return False
    return at - incident.last_notified_at.timestamp() >= rule.repeat_after_s
