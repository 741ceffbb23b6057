"""The rollback guard's rules: ``rollout.yaml`` in the config directory (or
``GATEWAY_ROLLOUT_FILE``), optional — no file, no guard.

    guard:
      window: 10m            # the ledger window both arms are measured over
      min_requests: 20       # per arm; fewer and the guard does not judge
      cooldown: 1h           # after a step, wait this long before the next (the guide: 1 hour)
      steps: [100, 50, 25, 0]
      actions: [slack_alert] # alert actions told of each step (optional)
      rules:
        - error_rate_above_v1: 2      # v2's error rate above v1's by more than 2 points
        - p95_latency_above_v1: 1.5   # v2's p95 latency above 1.5 x v1's
        - cost_per_request_above_v1: 1.0   # v2's cost per request above 1.0 x v1's

Parsed strictly (unknown keys are errors with file and key path), like the other config files.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from llm_gateway.alerts.conditions import parse_duration
from llm_gateway.config.loader import issues_from
from llm_gateway.config.yaml_source import read_yaml
from llm_gateway.errors import ConfigError, ConfigIssue

ROLLOUT_FILE = "rollout.yaml"
DEFAULT_STEPS = (100, 50, 25, 0)
NOTIFYING_ACTIONS = ("page_oncall", "slack_alert", "email_admin", "webhook")


class GuardRule(BaseModel):
    """Exactly one comparison of v2 against v1."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    error_rate_above_v1: float | None = Field(default=None, ge=0, le=100)
    p95_latency_above_v1: float | None = Field(default=None, gt=0)
    cost_per_request_above_v1: float | None = Field(default=None, gt=0)

    @property
    def metric(self) -> str:
        return next(k for k, v in self.model_dump().items() if v is not None)

    @property
    def threshold(self) -> float:
        return float(getattr(self, self.metric))

    def describe(self) -> str:
        if self.metric == "error_rate_above_v1":
            return f"v2 error rate > v1 error rate + {self.threshold:g} points"
        if self.metric == "p95_latency_above_v1":
            return f"v2 p95 latency > {self.threshold:g} x v1 p95 latency"
        return f"v2 cost per request > {self.threshold:g} x v1 cost per request"


class GuardSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    window: float = 600.0
    min_requests: int = Field(default=20, ge=1)
    cooldown: float = 3600.0
    steps: tuple[int, ...] = DEFAULT_STEPS
    actions: tuple[str, ...] = ()
    """Alert actions told of every step (``page_oncall``, ``slack_alert``, ``email_admin``,
    ``webhook``: the alerts' notifiers and their settings)."""
    rules: tuple[GuardRule, ...] = Field(min_length=1)

    @field_validator("actions")
    @classmethod
    def _known_actions(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for name in value:
            if name not in NOTIFYING_ACTIONS:
                raise ValueError(
                    f"unknown action '{name}' (expected {', '.join(NOTIFYING_ACTIONS)})"
                )
        return value

    @field_validator("window", "cooldown", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> float:
        if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
            return float(value)
        if isinstance(value, str):
            return parse_duration(value)  # a ConditionError is a ValueError: reported by path
        raise ValueError("expected seconds (≥ 0) or a duration like 10m")

    @field_validator("steps")
    @classmethod
    def _steps(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if not value or any(not 0 <= s <= 100 for s in value):
            raise ValueError("steps are percentages 0-100")
        if list(value) != sorted(value, reverse=True) or value[-1] != 0:
            raise ValueError("steps go down and end at 0 (the guide: 100, 50, 25, 0)")
        return value

    @field_validator("rules")
    @classmethod
    def _one_each(cls, value: tuple[GuardRule, ...]) -> tuple[GuardRule, ...]:
        for index, rule in enumerate(value):
            if sum(v is not None for v in rule.model_dump().values()) != 1:
                raise ValueError(f"rule {index}: name exactly one comparison")
        return value


class RolloutFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    guard: GuardSpec | None = None


@dataclass(frozen=True, slots=True)
class GuardConfig:
    spec: GuardSpec | None
    path: Path | None
    version: str = ""

    @property
    def enabled(self) -> bool:
        return self.spec is not None

    def rules_view(self) -> list[dict[str, Any]]:
        if self.spec is None:
            return []
        return [
            {"metric": r.metric, "threshold": r.threshold, "description": r.describe()}
            for r in self.spec.rules
        ]


NO_GUARD = GuardConfig(None, None)


def rollout_path(explicit: Path | None, config_dir: Path) -> Path | None:
    """``GATEWAY_ROLLOUT_FILE`` when set, else ``rollout.yaml`` of the config dir if present."""
    if explicit is not None:
        return explicit
    candidate = config_dir / ROLLOUT_FILE
    return candidate if candidate.is_file() else None


def parse_rollout(
    data: Any, file: str = ROLLOUT_FILE
) -> tuple[GuardSpec | None, list[ConfigIssue]]:
    if data is None:
        return None, []
    try:
        parsed = RolloutFile.model_validate(data)
    except ValidationError as exc:
        return None, list(issues_from(file, (), exc))
    return parsed.guard, []


def load_guard(path: Path | None) -> GuardConfig:
    """The guard of the file at ``path`` (None: no guard); ConfigError listing every issue."""
    if path is None:
        return NO_GUARD
    issues: list[ConfigIssue] = []
    digest = hashlib.sha256()
    data = read_yaml(path, issues, digest)
    spec = None
    if not issues:
        spec, issues = parse_rollout(data, path.name)
    if issues:
        raise ConfigError([ConfigIssue(str(path), i.path, i.message) for i in issues])
    return GuardConfig(spec, path, digest.hexdigest()[:16])
