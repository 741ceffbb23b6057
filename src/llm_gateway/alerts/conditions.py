"""An alert's ``condition``: ``<metric> <operator> <threshold>``, read strictly.

    error_rate > 5%                     failed requests / requests over the window (or 0.05)
    avg_latency > 10s                   mean request latency (ms, s or m; a bare number is s)
    p95_latency > 2500ms                95th-percentile request latency
    hourly_cost > $50                   USD spent in the last hour (the window, scaled to 1 h)
    model_consecutive_failures > 5      failed requests of a model since its last success
    budget_used > 80%                   spent / cap of each budget (from the budget manager)

Operators: ``>``, ``>=``, ``<``, ``<=``. A unit that does not belong to the metric (``error_rate
> 10s``) and anything left over are errors naming the token, never a guess. Durations
(``window``, ``for``, ``repeat_after``) are ``90s``, ``5m``, ``1h``, ``1d`` or seconds.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum


class ConditionError(ValueError):
    """The condition (or duration) cannot be read; the message names the offending token."""


class Metric(StrEnum):
    ERROR_RATE = "error_rate"
    AVG_LATENCY = "avg_latency"
    P95_LATENCY = "p95_latency"
    HOURLY_COST = "hourly_cost"
    MODEL_CONSECUTIVE_FAILURES = "model_consecutive_failures"
    BUDGET_USED = "budget_used"


# Each metric's kind of quantity: what units its threshold may carry.
_FRACTION = {Metric.ERROR_RATE, Metric.BUDGET_USED}
_LATENCY = {Metric.AVG_LATENCY, Metric.P95_LATENCY}

_OPERATORS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}

_TOKENS = re.compile(r"\s*([<>=!]+|[^\s<>=!]+)")
_NUMBER = re.compile(r"^(\$?)(\d+(?:\.\d+)?)(%|ms|s|m|h)?$")
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$")
_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


@dataclass(frozen=True, slots=True)
class Condition:
    """A parsed condition; ``threshold`` in the metric's base unit (fraction, ms, USD, count)."""

    metric: Metric
    op: str
    threshold: float
    text: str

    def holds(self, value: float) -> bool:
        return _OPERATORS[self.op](value, self.threshold)

    def describe(self, value: float) -> str:
        """``error_rate 12.5% > 5%``: the value against the condition, in the metric's unit."""
        return f"{self.metric.value} {format_value(self.metric, value)} {self.op} " + (
            format_value(self.metric, self.threshold)
        )


def parse_condition(text: str) -> Condition:
    """The condition in ``text``; ConditionError naming the token it cannot read."""
    tokens = [t for t in _TOKENS.findall(text) if t]
    if not tokens:
        raise ConditionError("empty condition (expected e.g. 'error_rate > 5%')")
    try:
        metric = Metric(tokens[0])
    except ValueError:
        known = ", ".join(m.value for m in Metric)
        raise ConditionError(f"unknown metric '{tokens[0]}' (known: {known})") from None
    if len(tokens) < 2 or tokens[1] not in _OPERATORS:
        got = f"'{tokens[1]}'" if len(tokens) > 1 else "nothing"
        raise ConditionError(f"expected an operator (>, >=, <, <=) after '{metric}', got {got}")
    if len(tokens) < 3:
        raise ConditionError(f"expected a threshold after '{metric} {tokens[1]}'")
    if len(tokens) > 3:
        raise ConditionError(f"unexpected '{tokens[3]}' after the threshold '{tokens[2]}'")
    return Condition(metric, tokens[1], _threshold(metric, tokens[2]), text.strip())


def _threshold(metric: Metric, token: str) -> float:
    match = _NUMBER.match(token)
    if match is None:
        raise ConditionError(f"threshold '{token}' is not a number (e.g. 5%, 10s, $50, 5)")
    dollar, number, unit = match.group(1), float(match.group(2)), match.group(3)
    wrong = f"threshold '{token}': {metric} takes "
    if metric in _FRACTION:
        if dollar or unit not in (None, "%"):
            raise ConditionError(wrong + "a percentage (5%) or a fraction (0.05)")
        value = number / 100 if unit == "%" else number
        if value > 1 and unit is None:
            raise ConditionError(wrong + "a fraction at most 1 (write 5% or 0.05)")
        return value
    if metric in _LATENCY:
        if dollar or unit in ("%", "h"):
            raise ConditionError(wrong + "a duration (10s, 2500ms, 1m)")
        return number * _SECONDS[unit or "s"] * 1000.0
    if metric is Metric.HOURLY_COST:
        if unit is not None:
            raise ConditionError(wrong + "an amount in USD ($50)")
        return number
    if dollar or unit is not None or not number.is_integer():
        raise ConditionError(wrong + "a whole number of requests (5)")
    return number


def parse_duration(value: str | float | int) -> float:
    """Seconds in ``value`` (``90s``, ``5m``, ``1h``, ``1d``, ``500ms`` or a number of seconds)."""
    if isinstance(value, bool):
        raise ConditionError(f"'{value}' is not a duration (e.g. 30s, 5m, 1h)")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION.match(value.strip())
        if match is None:
            raise ConditionError(f"'{value}' is not a duration (e.g. 30s, 5m, 1h)")
        seconds = float(match.group(1)) * _SECONDS[match.group(2) or "s"]
    if seconds <= 0:
        raise ConditionError(f"'{value}': a duration must be more than 0")
    return seconds


def format_value(metric: Metric, value: float) -> str:
    if metric in _FRACTION:
        return f"{value * 100:.4g}%"
    if metric in _LATENCY:
        return f"{value / 1000:.4g}s"
    if metric is Metric.HOURLY_COST:
        return f"${value:.4f}".rstrip("0").rstrip(".")
    return f"{value:g}"
