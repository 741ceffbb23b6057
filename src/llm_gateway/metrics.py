"""Prometheus metrics, namespaced ``llm_gateway_*``, one registry per gateway.

Updating them is a few in-memory increments per request; exposition happens only when
``GET /metrics`` is scraped.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from llm_gateway.cost import CostBreakdown
from llm_gateway.errors import GatewayError
from llm_gateway.exchange import Plan
from llm_gateway.model_policy import ModelPolicy
from llm_gateway.providers.base import Usage
from llm_gateway.resilience.circuit import CircuitState

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
_OVERHEAD_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1)
_CIRCUIT_VALUE = {CircuitState.CLOSED: 0, CircuitState.HALF_OPEN: 1, CircuitState.OPEN: 2}

CONTENT_TYPE = CONTENT_TYPE_LATEST


class GatewayMetrics:
    """The gateway's counters, histograms and gauges."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self._children: dict[tuple[int, tuple[str, ...]], Any] = {}
        ns = "llm_gateway"
        self.requests = Counter(
            "requests",
            "Requests by node, answering model and outcome",
            ["node", "model", "status"],
            namespace=ns,
            registry=self.registry,
        )
        self.attempts = Counter(
            "attempts",
            "Attempts against models by outcome",
            ["model", "outcome"],
            namespace=ns,
            registry=self.registry,
        )
        self.duration = Histogram(
            "request_duration_seconds",
            "End-to-end request duration",
            ["node"],
            buckets=_LATENCY_BUCKETS,
            namespace=ns,
            registry=self.registry,
        )
        self.overhead = Histogram(
            "overhead_seconds",
            "Time spent in the gateway itself (excluding provider time)",
            buckets=_OVERHEAD_BUCKETS,
            namespace=ns,
            registry=self.registry,
        )
        self.cost = Counter(
            "cost_usd",
            "Cost in USD by model",
            ["model"],
            namespace=ns,
            registry=self.registry,
        )
        self.tokens = Counter(
            "tokens",
            "Tokens by model and kind",
            ["model", "kind"],
            namespace=ns,
            registry=self.registry,
        )
        self.circuit = Gauge(
            "circuit_state",
            "Circuit state per model (0 closed, 1 half-open, 2 open)",
            ["model"],
            namespace=ns,
            registry=self.registry,
        )

    def observe(
        self,
        plan: Plan,
        policy: ModelPolicy | None,
        usage: Usage | None,
        cost: CostBreakdown,
        error: GatewayError | None,
        duration_s: float,
        overhead_s: float,
        *,
        status: str | None = None,
    ) -> None:
        model = policy.logical_id if policy else "none"
        status = status or ("ok" if error is None else error.error_type)
        node = plan.route.node_name
        self._child(self.requests, node, model, status).inc()
        self._child(self.duration, node).observe(duration_s)
        self.overhead.observe(overhead_s)
        for attempt in plan.attempts:
            outcome = "ok" if attempt.ok else ("skipped" if attempt.skipped else "error")
            self._child(self.attempts, attempt.model, outcome).inc()
        if policy is not None:
            if cost.total:
                self._child(self.cost, model).inc(float(cost.total))
            if usage is not None:
                self._child(self.tokens, model, "prompt").inc(usage.prompt_tokens)
                self._child(self.tokens, model, "completion").inc(usage.completion_tokens)

    def _child(self, metric: Any, *labels: str) -> Any:
        """``metric.labels(*labels)``, memoised: label look-ups are the costly part."""
        key = (id(metric), labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    def set_circuit(self, model: str, state: CircuitState) -> None:
        self.circuit.labels(model).set(_CIRCUIT_VALUE[state])

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
