"""``budgets.yaml``: spending caps in USD per hour, day or month, for the whole gateway, per
node, per client key (by its configured name) and per model, with warning thresholds.

    default_output_tokens: 4096      # output reserved (and capped) when a request sets none
    warn_at: [0.8]                   # fractions of a cap that log a warning when crossed
    gateway: {day: "50.00", month: "1000"}
    nodes:
      writer: {day: "10", output_cap: 2000, warn_at: [0.5, 0.9]}
    keys:
      alice: {hour: "1.50"}
    models:
      claude-sonnet: {month: "200"}

The file is optional (no file: no budget). It is parsed strictly with the other config files
(an unknown key or a bad value is an error naming ``budgets.yaml`` and the key path; a reload
that fails keeps the last good files). Admin changes (``PUT /budgets/{scope}``) replace the
file's entry of one scope; ``DELETE`` returns it to the file's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError, field_validator

from llm_gateway.budgets.periods import Period
from llm_gateway.errors import ConfigIssue

BUDGETS_FILE = "budgets.yaml"
DEFAULT_OUTPUT_TOKENS = 4096
GATEWAY_SCOPE = "gateway"
SCOPE_KINDS = {"nodes": "node", "keys": "key", "models": "model"}
_KEY_NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
UNIT = Decimal("1e-9")  # counters count nano-USD (exact integers in Redis and Lua)


class ScopeSpec(BaseModel):
    """The caps of one scope (a period left out has none)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    hour: Decimal | None = Field(default=None, gt=0, le=Decimal("1e6"))
    day: Decimal | None = Field(default=None, gt=0, le=Decimal("1e6"))
    month: Decimal | None = Field(default=None, gt=0, le=Decimal("1e6"))
    warn_at: tuple[float, ...] | None = None
    output_cap: StrictInt | None = Field(default=None, gt=0, le=10_000_000)

    @field_validator("hour", "day", "month", mode="before")
    @classmethod
    def _exact(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError('expected an amount in USD such as "12.50"')
        if isinstance(value, float):
            return Decimal(repr(value))  # 1.1 as written, not its binary neighbour
        return value

    @field_validator("warn_at")
    @classmethod
    def _fractions(cls, value: tuple[float, ...] | None) -> tuple[float, ...] | None:
        if value is not None and not all(0 < v <= 1 for v in value):
            raise ValueError("warning thresholds are fractions of the cap, in (0, 1]")
        return tuple(sorted(set(value))) if value is not None else None

    def caps(self) -> dict[Period, Decimal]:
        return {p: v for p in Period if (v := getattr(self, p.value)) is not None}


class BudgetsSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    currency: str = Field(default="USD", pattern="^USD$")
    default_output_tokens: StrictInt = Field(default=DEFAULT_OUTPUT_TOKENS, gt=0, le=10_000_000)
    warn_at: tuple[float, ...] = ()
    gateway: ScopeSpec | None = None
    nodes: dict[str, ScopeSpec] = Field(default_factory=dict)
    keys: dict[str, ScopeSpec] = Field(default_factory=dict)
    models: dict[str, ScopeSpec] = Field(default_factory=dict)

    @field_validator("warn_at")
    @classmethod
    def _fractions(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if not all(0 < v <= 1 for v in value):
            raise ValueError("warning thresholds are fractions of the cap, in (0, 1]")
        return tuple(sorted(set(value)))


@dataclass(frozen=True, slots=True)
class Budgets:
    """The caps in force, by scope id (``gateway``, ``node:writer``, ``key:alice``,
    ``model:gpt-4o``); frozen, replaced whole on reload or admin change."""

    scopes: Mapping[str, ScopeSpec] = field(default_factory=lambda: MappingProxyType({}))
    default_output_tokens: int = DEFAULT_OUTPUT_TOKENS
    warn_at: tuple[float, ...] = ()

    def __bool__(self) -> bool:
        return any(spec.caps() for spec in self.scopes.values())

    def overlaid(self, admin: Mapping[str, ScopeSpec]) -> Budgets:
        """These caps with the admin's entries replacing the file's, scope by scope."""
        merged = {**self.scopes, **admin}
        return Budgets(MappingProxyType(merged), self.default_output_tokens, self.warn_at)


NO_BUDGETS = Budgets()


def parse_scope_id(scope: str) -> tuple[str, str]:
    """``node:writer`` → ``("node", "writer")``; ``gateway`` → ``("gateway", "")``. Raises
    ValueError naming the accepted forms."""
    if scope == GATEWAY_SCOPE:
        return GATEWAY_SCOPE, ""
    kind, sep, name = scope.partition(":")
    if not sep or kind not in SCOPE_KINDS.values() or not name or len(name) > 128:
        raise ValueError(
            "a budget scope is 'gateway', 'node:<node>', 'key:<client key name>' or "
            "'model:<model id>'"
        )
    if kind == "key" and not _KEY_NAME.match(name):
        raise ValueError("a client key name has 1-64 letters, digits or _.@-")
    return kind, name


def parse_budgets(data: Any, issues: list[ConfigIssue]) -> Budgets:
    """``budgets.yaml``'s data → Budgets; problems appended to ``issues`` (file + key path)."""
    from llm_gateway.config.loader import format_path

    if data is None:
        return NO_BUDGETS
    if not isinstance(data, dict):
        issues.append(ConfigIssue(BUDGETS_FILE, "", "expected a mapping at the top level"))
        return NO_BUDGETS
    try:
        spec = BudgetsSpec.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            message = error["msg"].removeprefix("Value error, ")
            if error["type"] == "extra_forbidden":
                message = f"unknown field '{error['loc'][-1]}'"
            issues.append(ConfigIssue(BUDGETS_FILE, format_path(error["loc"]), message))
        return NO_BUDGETS
    scopes: dict[str, ScopeSpec] = {}
    if spec.gateway is not None:
        scopes[GATEWAY_SCOPE] = spec.gateway
    for section, kind in SCOPE_KINDS.items():
        for name, entry in getattr(spec, section).items():
            scope = f"{kind}:{name}"
            try:
                parse_scope_id(scope)
            except ValueError as exc:
                issues.append(ConfigIssue(BUDGETS_FILE, f"{section}.{name}", str(exc)))
                continue
            scopes[scope] = entry
    return Budgets(MappingProxyType(scopes), spec.default_output_tokens, spec.warn_at)


def budget_reference_issues(
    budgets: Budgets, nodes: Mapping[str, Any], models: Mapping[str, Any]
) -> list[ConfigIssue]:
    """Nodes and models the budgets name must be configured (node entries, patterns included)."""
    issues = []
    for scope in budgets.scopes:
        kind, name = parse_scope_id(scope)
        if kind == "node" and name not in nodes:
            issues.append(
                ConfigIssue(
                    BUDGETS_FILE,
                    f"nodes.{name}",
                    f"unknown node '{name}' (not an entry of node_requirements.yaml)",
                )
            )
        elif kind == "model" and name not in models:
            issues.append(
                ConfigIssue(
                    BUDGETS_FILE,
                    f"models.{name}",
                    f"unknown model '{name}' (not in model_policies.yaml)",
                )
            )
    return issues


def to_units(amount: Decimal) -> int:
    """USD → whole nano-USD, rounded up (a reservation or a charge is never under-counted)."""
    return int((amount / UNIT).to_integral_value(rounding="ROUND_CEILING"))


def cap_units(amount: Decimal) -> int:
    """A cap in nano-USD, rounded down."""
    return int((amount / UNIT).to_integral_value(rounding="ROUND_FLOOR"))


def from_units(units: int) -> Decimal:
    return (Decimal(units) * UNIT).normalize() if units else Decimal(0)


def usd(units: int) -> str:
    """Integer budget units as a decimal USD string (what every answer and report shows)."""
    return f"{from_units(units):f}"
