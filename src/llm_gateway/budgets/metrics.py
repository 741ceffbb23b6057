"""Budget families on the gateway's ``/metrics``: per capped scope and period (bounded: scopes
come from the config and admin entries), as this replica knows them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from llm_gateway.budgets.config import from_units

_NS = "llm_gateway_budget"


class BudgetCollector:
    def __init__(self, manager: Any) -> None:
        self._manager = manager

    def collect(self) -> Iterator[Metric]:
        manager = self._manager
        spent = GaugeMetricFamily(
            f"{_NS}_spent_usd", "Spend of the current period", labels=["scope", "period"]
        )
        cap = GaugeMetricFamily(f"{_NS}_cap_usd", "Cap of the period", labels=["scope", "period"])
        remaining = GaugeMetricFamily(
            f"{_NS}_remaining_usd",
            "What the cap still allows, other replicas' leases held back",
            labels=["scope", "period"],
        )
        reserved = GaugeMetricFamily(
            f"{_NS}_reserved_usd",
            "Reserved by requests in flight on this replica (settled when they end)",
            labels=["scope", "period"],
        )
        for (scope, period), counter in list(manager._current.items()):
            labels = [scope, period.value]
            spent.add_metric(labels, float(from_units(counter.spent + counter.pending)))
            reserved.add_metric(labels, float(from_units(counter.reserved)))
            cap.add_metric(labels, float(from_units(counter.cap)))
            remaining.add_metric(labels, float(from_units(max(0, counter.remaining))))
        yield spent
        yield reserved
        yield cap
        yield remaining
        warnings = CounterMetricFamily(
            f"{_NS}_warnings", "Warning thresholds crossed", labels=["scope", "period", "at"]
        )
        for (scope, period, at), count in list(manager.warnings.items()):
            warnings.add_metric([scope, period, f"{at:g}"], count)
        yield warnings
        refused = CounterMetricFamily(
            f"{_NS}_refusals", "Requests refused by a budget", labels=["scope", "period"]
        )
        for (scope, period), count in list(manager.refusals.items()):
            refused.add_metric([scope, period], count)
        yield refused
        up = GaugeMetricFamily(f"{_NS}_counters_up", "1 when the shared counters answer")
        up.add_metric([], 0 if manager.unavailable else 1)
        yield up
