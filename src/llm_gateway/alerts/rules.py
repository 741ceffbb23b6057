"""``alerts.yaml``: the guide's alert rules, parsed strictly into frozen :class:`AlertRule`.

    alerts:
      - name: high_error_rate
        condition: error_rate > 5%          # see conditions.py for every metric and unit
        action: page_oncall                 # or actions: [page_oncall, slack_alert]
        window: 5m                          # optional: the span measured (default per metric)
        for: 2m                             # optional: must hold this long before it fires
        scope: node                         # optional: one incident per node (or model)
        repeat_after: 1h                    # optional: notify again while it still holds
        severity: critical                  # optional: critical, error, warning, info
        min_requests: 20                    # optional: fewer requests measured: no verdict
        recover_after: 10m                  # auto_disable_model: probe, re-enable on success

Every problem is a :class:`~llm_gateway.errors.ConfigIssue` naming the file, the rule's key
path (``alerts.high_error_rate.condition``) and the token it could not read; all of them are
raised together in one :class:`~llm_gateway.errors.ConfigError`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from llm_gateway.alerts.conditions import Condition, ConditionError, Metric, parse_condition
from llm_gateway.alerts.conditions import parse_duration as _duration
from llm_gateway.config.loader import format_path, issues_from
from llm_gateway.config.yaml_source import read_yaml
from llm_gateway.errors import ConfigError, ConfigIssue

ALERTS_FILE = "alerts.yaml"

ACTIONS = ("page_oncall", "slack_alert", "email_admin", "webhook", "auto_disable_model")
ActionName = Literal["page_oncall", "slack_alert", "email_admin", "webhook", "auto_disable_model"]
Scope = Literal["global", "node", "model"]
Severity = Literal["critical", "error", "warning", "info"]

# How far back each metric looks when the rule names no window.
DEFAULT_WINDOW_S = {
    Metric.ERROR_RATE: 300.0,
    Metric.AVG_LATENCY: 300.0,
    Metric.P95_LATENCY: 300.0,
    Metric.HOURLY_COST: 3600.0,
    Metric.MODEL_CONSECUTIVE_FAILURES: 3600.0,
    Metric.BUDGET_USED: 0.0,  # the budget's own period
}


@dataclass(frozen=True, slots=True)
class AlertRule:
    name: str
    condition: Condition
    actions: tuple[str, ...]
    window_s: float
    for_s: float
    scope: Scope
    repeat_after_s: float | None
    severity: Severity
    min_requests: int
    recover_after_s: float | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "condition": self.condition.text,
            "actions": list(self.actions),
            "window_s": self.window_s,
            "for_s": self.for_s,
            "scope": self.scope,
            "repeat_after_s": self.repeat_after_s,
            "severity": self.severity,
            "min_requests": self.min_requests,
            "recover_after_s": self.recover_after_s,
        }


@dataclass(frozen=True, slots=True)
class AlertRules:
    """The rules of one file, with the file's path and a digest of its bytes."""

    rules: tuple[AlertRule, ...]
    path: Path | None
    version: str

    def get(self, name: str) -> AlertRule | None:
        return next((rule for rule in self.rules if rule.name == name), None)


NO_RULES = AlertRules((), None, "none")


def _seconds(value: Any) -> float | None:
    if value is None:
        return None
    try:
        return _duration(value)
    except ConditionError as exc:
        raise ValueError(str(exc)) from None


class RuleSpec(BaseModel):
    """One entry of ``alerts:`` as written (unknown fields are errors)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.-]+$")
    condition: Condition
    action: ActionName | None = None
    actions: list[ActionName] | None = None
    window: float | None = None
    for_: float = Field(0.0, alias="for")
    scope: Scope | None = None
    repeat_after: float | None = None
    severity: Severity = "error"
    min_requests: int = Field(1, ge=1, le=1_000_000)
    recover_after: float | None = None

    @field_validator("condition", mode="before")
    @classmethod
    def _condition(cls, value: Any) -> Condition:
        if not isinstance(value, str):
            raise ValueError("expected text like 'error_rate > 5%'")
        try:
            return parse_condition(value)
        except ConditionError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("window", "for_", "repeat_after", "recover_after", mode="before")
    @classmethod
    def _durations(cls, value: Any) -> float | None:
        return _seconds(value)

    def to_rule(self) -> AlertRule:
        metric = self.condition.metric
        actions = tuple(self.actions or ([self.action] if self.action else []))
        scope: Scope = self.scope or (
            "model" if metric is Metric.MODEL_CONSECUTIVE_FAILURES else "global"
        )
        return AlertRule(
            name=self.name,
            condition=self.condition,
            actions=tuple(dict.fromkeys(actions)),
            window_s=self.window or DEFAULT_WINDOW_S[metric],
            for_s=self.for_,
            scope=scope,
            repeat_after_s=self.repeat_after,
            severity=self.severity,
            min_requests=self.min_requests,
            recover_after_s=self.recover_after,
        )


def _rule_problems(spec: RuleSpec) -> list[tuple[str, str]]:
    """``(field, message)`` for what each field allows alone but not together."""
    problems: list[tuple[str, str]] = []
    metric = spec.condition.metric
    if spec.action is None and not spec.actions:
        problems.append(("action", f"missing: name one of {', '.join(ACTIONS)}"))
    if spec.action is not None and spec.actions is not None:
        problems.append(("actions", "give either 'action' or 'actions', not both"))
    actions = spec.actions or ([spec.action] if spec.action else [])
    scope = spec.to_rule().scope
    if metric is Metric.MODEL_CONSECUTIVE_FAILURES and scope != "model":
        problems.append(("scope", f"'{scope}': {metric} is counted per model (scope: model)"))
    if metric is Metric.BUDGET_USED and spec.scope is not None:
        problems.append(("scope", f"{metric} is measured per budget; remove 'scope'"))
    if "auto_disable_model" in actions and scope != "model":
        problems.append(
            ("action", f"auto_disable_model needs a model: set 'scope: model' (got '{scope}')")
        )
    if spec.recover_after is not None and "auto_disable_model" not in actions:
        problems.append(("recover_after", "only auto_disable_model re-enables a model"))
    return problems


def parse_rules(data: Any, file: str = ALERTS_FILE) -> tuple[list[AlertRule], list[ConfigIssue]]:
    """The valid rules of a document and every issue of the others."""
    issues: list[ConfigIssue] = []
    if not isinstance(data, dict):
        return [], [ConfigIssue(file, "", "expected a mapping with an 'alerts' list")]
    for key in data:
        if key != "alerts":
            issues.append(ConfigIssue(file, str(key), f"unknown field '{key}' (expected alerts)"))
    entries = data.get("alerts")
    if not isinstance(entries, list):
        issues.append(ConfigIssue(file, "alerts", "expected a list of rules"))
        return [], issues
    rules: list[AlertRule] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        label = _label(entry, index)
        try:
            spec = RuleSpec.model_validate(entry)
        except ValidationError as exc:
            issues.extend(issues_from(file, ("alerts", label), exc))
            continue
        problems = _rule_problems(spec)
        issues.extend(ConfigIssue(file, format_path(["alerts", label, f]), m) for f, m in problems)
        if spec.name in seen:
            issues.append(
                ConfigIssue(file, format_path(["alerts", label, "name"]), "duplicate rule name")
            )
        seen.add(spec.name)
        if not problems:
            rules.append(spec.to_rule())
    return rules, issues


def _label(entry: Any, index: int) -> str | int:
    """The rule's name in key paths (``alerts.high_error_rate``), else its index."""
    name = entry.get("name") if isinstance(entry, dict) else None
    return name if isinstance(name, str) and name and len(name) <= 64 else index


def load_rules(path: Path) -> AlertRules:
    """The rules of the file at ``path``; ConfigError listing every issue."""
    issues: list[ConfigIssue] = []
    digest = hashlib.sha256()
    data = read_yaml(path, issues, digest)
    if data is not None:
        rules, more = parse_rules(data, path.name)
        issues.extend(more)
    if issues:
        raise ConfigError([_with_path(issue, path) for issue in issues])
    return AlertRules(tuple(rules), path, digest.hexdigest()[:16])


def _with_path(issue: ConfigIssue, path: Path) -> ConfigIssue:
    """Name the file as given (an alerts file may live anywhere, not beside the others)."""
    return ConfigIssue(str(path), issue.path, issue.message)


def alerts_path(explicit: Path | None, config_dir: Path) -> Path | None:
    """``GATEWAY_ALERTS_FILE`` when set (it must exist), else ``alerts.yaml`` in the config
    directory when there is one, else None (no rules)."""
    if explicit is not None:
        return explicit
    candidate = config_dir / ALERTS_FILE
    return candidate if candidate.is_file() else None
