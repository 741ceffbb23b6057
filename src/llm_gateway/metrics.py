"""Prometheus metrics, namespaced ``llm_gateway_*``, one registry per gateway.

The request path only bumps plain in-process counters (a dict lookup and an add each: no locks,
no label objects — the gateway serves from one event loop); a custom collector turns them into
Prometheus families when ``GET /metrics`` is scraped.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
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
_NS = "llm_gateway"

CONTENT_TYPE = CONTENT_TYPE_LATEST


class _Histogram:
    """Bucket counts (non-cumulative) and a sum; cumulated only at scrape time."""

    __slots__ = ("bounds", "counts", "total")

    def __init__(self, bounds: Sequence[float]) -> None:
        self.bounds = tuple(bounds)
        self.counts = [0] * (len(self.bounds) + 1)
        self.total = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.bounds, value)] += 1
        self.total += value

    def buckets(self) -> list[tuple[str, float]]:
        out: list[tuple[str, float]] = []
        running = 0
        for bound, count in zip((*self.bounds, float("inf")), self.counts, strict=True):
            running += count
            out.append(("+Inf" if bound == float("inf") else repr(bound), running))
        return out


class GatewayMetrics:
    """The gateway's counters, histograms and gauges."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.requests: defaultdict[tuple[str, str, str], int] = defaultdict(int)
        self.attempts: defaultdict[tuple[str, str], int] = defaultdict(int)
        self.cost: defaultdict[str, float] = defaultdict(float)
        self.tokens: defaultdict[tuple[str, str], int] = defaultdict(int)
        self.duration: dict[str, _Histogram] = {}
        self.overhead = _Histogram(_OVERHEAD_BUCKETS)
        self.circuit: dict[str, int] = {}
        self.record_writer: Any = None  # the record store's RecordWriter, when there is one
        self.cache_stats: Any = None  # the response cache's CacheStats
        self.registry.register(_Collector(self))

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
        node = plan.route.node_label  # bounded: configured names and patterns only
        self.requests[(node, model, status)] += 1
        histogram = self.duration.get(node)
        if histogram is None:
            histogram = self.duration[node] = _Histogram(_LATENCY_BUCKETS)
        histogram.observe(duration_s)
        self.overhead.observe(overhead_s)
        for attempt in plan.attempts:
            outcome = "ok" if attempt.ok else ("skipped" if attempt.skipped else "error")
            self.attempts[(attempt.model, outcome)] += 1
        if policy is not None:
            if cost.total:
                self.cost[model] += float(cost.total)
            if usage is not None:
                self.tokens[(model, "prompt")] += usage.prompt_tokens
                self.tokens[(model, "completion")] += usage.completion_tokens

    def set_circuit(self, model: str, state: CircuitState) -> None:
        self.circuit[model] = _CIRCUIT_VALUE[state]

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class _Collector:
    """Renders :class:`GatewayMetrics` as Prometheus families on scrape."""

    def __init__(self, metrics: GatewayMetrics) -> None:
        self._m = metrics

    def collect(self) -> Iterator[Metric]:
        m = self._m
        yield _counter(
            "requests",
            "Requests by node, answering model and outcome",
            ["node", "model", "status"],
            m.requests.copy(),
        )
        yield _counter(
            "attempts",
            "Attempts against models by outcome",
            ["model", "outcome"],
            m.attempts.copy(),
        )
        yield _counter(
            "cost_usd", "Cost in USD by model", ["model"], {(k,): v for k, v in m.cost.items()}
        )
        yield _counter("tokens", "Tokens by model and kind", ["model", "kind"], m.tokens.copy())
        duration = HistogramMetricFamily(
            f"{_NS}_request_duration_seconds", "End-to-end request duration", labels=["node"]
        )
        for node, histogram in list(m.duration.items()):
            duration.add_metric([node], histogram.buckets(), histogram.total)
        yield duration
        overhead = HistogramMetricFamily(
            f"{_NS}_overhead_seconds",
            "Time spent in the gateway itself (excluding provider time)",
        )
        overhead.add_metric([], m.overhead.buckets(), m.overhead.total)
        yield overhead
        circuit = GaugeMetricFamily(
            f"{_NS}_circuit_state",
            "Circuit state per model (0 closed, 1 half-open, 2 open)",
            labels=["model"],
        )
        for model, value in list(m.circuit.items()):
            circuit.add_metric([model], value)
        yield circuit
        if m.record_writer is not None:
            yield from _record_store_families(m.record_writer)
        if m.cache_stats is not None:
            yield _counter(
                "cache_requests",
                "Cacheable requests by node and outcome (hit, miss)",
                ["node", "outcome"],
                dict(m.cache_stats.by_node),
            )


def _record_store_families(writer: Any) -> Iterator[Metric]:
    """The ledger's path to the record store: queue, spool, outages, shed traces."""
    stats = writer.stats
    gauges = (
        (
            "ledger_queue_depth",
            "Ledger rows in memory only (neither committed nor spooled)",
            writer.queue_depth,
        ),
        (
            "ledger_spool_files",
            "Ledger batches spooled locally, not yet in the store",
            writer.spool_files,
        ),
        ("ledger_spool_bytes", "Bytes of ledger batches spooled locally", writer.spool_bytes),
        (
            "record_store_up",
            "1 when the record store takes writes, 0 during an outage",
            0 if writer.in_outage else 1,
        ),
    )
    for name, text, value in gauges:
        gauge = GaugeMetricFamily(f"{_NS}_{name}", text)
        gauge.add_metric([], value)
        yield gauge
    counters = (
        ("ledger_rows_written", "Ledger rows written to the record store", stats.rows_written),
        (
            "ledger_backpressure",
            "Times the request path waited for room in the ledger queue",
            stats.backpressure_waits,
        ),
        ("traces_written", "Sampled traces written to the record store", stats.traces_written),
        (
            "traces_dropped",
            "Sampled traces shed under pressure (never ledger rows)",
            stats.traces_shed,
        ),
        ("record_store_outages", "Outages of the record store seen by this process", stats.outages),
    )
    for name, text, value in counters:
        counter = CounterMetricFamily(f"{_NS}_{name}", text)
        counter.add_metric([], value)
        yield counter


def _counter(
    name: str, documentation: str, labels: list[str], values: Mapping[Any, float]
) -> CounterMetricFamily:
    family = CounterMetricFamily(f"{_NS}_{name}", documentation, labels=labels)
    for key, value in values.items():
        family.add_metric(list(key), value)
    return family
