"""What every action is told: one :class:`Notification` per incident step (or a test)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Step(StrEnum):
    TRIGGER = "trigger"  # the incident opened
    REPEAT = "repeat"  # still firing after repeat_after
    RESOLVE = "resolve"  # the condition no longer holds (or the model is back)
    TEST = "test"  # POST /alerts/{name}/test


@dataclass(frozen=True, slots=True)
class Notification:
    step: Step
    rule: str
    scope: str
    condition: str
    severity: str
    summary: str
    value: float | None
    dedup_key: str
    source: str
    started_at: str | None = None
    incident_id: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def title(self) -> str:
        prefix = {
            Step.TRIGGER: "FIRING",
            Step.REPEAT: "STILL FIRING",
            Step.RESOLVE: "RESOLVED",
            Step.TEST: "TEST",
        }[self.step]
        return f"[{prefix}] {self.rule} ({self.scope}): {self.summary}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "event": self.step.value,
            "rule": self.rule,
            "scope": self.scope,
            "condition": self.condition,
            "severity": self.severity,
            "summary": self.summary,
            "value": self.value,
            "dedup_key": self.dedup_key,
            "source": self.source,
            "started_at": self.started_at,
            "incident_id": self.incident_id,
            "details": self.details,
        }
