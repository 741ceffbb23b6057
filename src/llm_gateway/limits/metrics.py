"""The rate limiter on ``/metrics``: refusals and waits by scope and limit, the headroom this
replica holds in its leases, and the models cooling down after an upstream 429. Labels are
scopes (node, key, model), limit kinds (rpm, tpm) and catalogue models only: never a node
name, key or id a caller chose."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

if TYPE_CHECKING:
    from llm_gateway.limits.limiter import RateLimiter

_NS = "llm_gateway"


def limiter_families(limiter: RateLimiter) -> Iterator[Metric]:
    refused = CounterMetricFamily(
        f"{_NS}_rate_limit_refusals",
        "Requests (or a model of their chain) refused by a rate limit, by scope and limit",
        labels=["scope", "limit"],
    )
    for (scope, kind), count in sorted(limiter.refusals.items()):
        refused.add_metric([scope, kind], count)
    yield refused
    waits = CounterMetricFamily(
        f"{_NS}_rate_limit_waits", "Times a request waited for rate-limit capacity"
    )
    waits.add_metric([], limiter.waits)
    yield waits
    headroom = GaugeMetricFamily(
        f"{_NS}_rate_limit_leased_headroom",
        "Units (requests for rpm, tokens for tpm) this replica holds in its leases, by scope "
        "and limit: what it may admit without asking the state store",
        labels=["scope", "limit"],
    )
    held: defaultdict[tuple[str, str], int] = defaultdict(int)
    for key, balance in limiter.rates.balances():
        scope, _, rest = key.partition(":")
        kind = rest[:3]
        held[(scope, kind)] += max(balance, 0)
    for (scope, kind), units in sorted(held.items()):
        headroom.add_metric([scope, kind], units)
    yield headroom
    cooling = GaugeMetricFamily(
        f"{_NS}_model_cooldown_seconds",
        "Seconds left of a model's cool-down after an upstream 429 (0: none)",
        labels=["model"],
    )
    for model, seconds in limiter.health()["cooling_down"].items():
        cooling.add_metric([model], seconds)
    yield cooling
