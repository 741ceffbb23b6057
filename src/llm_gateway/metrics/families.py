"""Renders :class:`GatewayMetrics` as Prometheus families when ``/metrics`` is scraped."""

from __future__ import annotations

import logging
import platform
from collections.abc import Iterator, Mapping
from typing import Any

from prometheus_client import GCCollector, PlatformCollector, ProcessCollector
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from llm_gateway import __version__
from llm_gateway.metrics.genai import genai_families
from llm_gateway.metrics.histogram import Histogram
from llm_gateway.metrics.shapes import (
    ANSWERED,
    ERROR_TYPE,
    MODEL,
    NODE,
    PRIMARY,
    STATUS,
    Key,
    fold_histograms,
    fold_values,
    requests,
)
from llm_gateway.metrics.store import record_store_families

logger = logging.getLogger("llm_gateway.metrics")

_NS = "llm_gateway"


def register_collectors(m: Any) -> None:
    """The gateway's own families plus prometheus-client's ``process_*`` and ``python_*``."""
    m.registry.register(_GatewayCollector(m))
    ProcessCollector(registry=m.registry)
    PlatformCollector(registry=m.registry)
    GCCollector(registry=m.registry)


class _GatewayCollector:
    def __init__(self, metrics: Any) -> None:
        self._m = metrics

    def collect(self) -> Iterator[Metric]:
        m = self._m
        yield from _request_families(m)
        yield from _latency_families(m)
        yield from genai_families(m)
        yield from _state_families(m)
        if m.record_writer is not None:
            yield from record_store_families(m.record_writer)
        if m.cache_stats is not None:
            yield _counter(
                "cache_requests",
                "Cacheable requests by node and outcome (hit, miss)",
                ["node", "outcome"],
                dict(m.cache_stats.by_node),
            )
        for source in list(m.sources):
            try:
                yield from source()
            except Exception:  # a hook's bug must not take the whole scrape down
                logger.exception("metrics source %r failed", source)


def _by_node(key: Key) -> Key:
    return (key[NODE],)


def _by_outcome(key: Key) -> Key:
    return (key[NODE], key[MODEL], key[STATUS], key[ERROR_TYPE])


def _by_answering_model(key: Key) -> Key | None:
    return (key[MODEL],) if key[ANSWERED] else None


def _fallback(key: Key) -> Key | None:
    answered_by_another = key[ANSWERED] and key[MODEL] != key[PRIMARY]
    return (key[NODE], key[PRIMARY], key[MODEL]) if answered_by_another else None


def _request_families(m: Any) -> Iterator[Metric]:
    shapes = m.shapes
    yield _counter(
        "requests",
        "Requests by node, answering (or last tried) model, status (as in the ledger: "
        "ok|error|cancelled|refused) and error type",
        ["node", "model", "status", "error_type"],
        fold_values(shapes, requests, _by_outcome),
    )
    yield _counter(
        "attempts",
        "Calls to models by outcome (ok|error|skipped)",
        ["model", "outcome"],
        m.attempts,
    )
    yield _counter("retries", "Retries of a model within a request", ["model"], _one(m.retries))
    fallbacks = fold_values(shapes, requests, _fallback)
    yield _counter(
        "fallbacks",
        "Requests answered by a fallback: the node, the selected primary and the answering model",
        ["node", "from_model", "to_model"],
        fallbacks,
    )
    yield _counter(
        "capability_requests",
        "Requests by required capability",
        ["capability"],
        _one(m.capabilities),
    )
    yield _counter(
        "cost_usd", "Cost in USD by answering model", ["model"],
        fold_values(shapes, lambda s: s.cost, _by_answering_model),
    )  # fmt: skip
    tokens: dict[Key, float] = {}
    for kind, value in (
        ("input", lambda s: s.input.total),
        ("output", lambda s: s.output.total),
        ("cached", lambda s: s.cached),
        ("reasoning", lambda s: s.reasoning),
    ):
        for (model,), count in fold_values(shapes, value, _by_answering_model).items():
            tokens[(model, kind)] = count
    yield _counter(
        "tokens",
        "Tokens by answering model and type (input|output|cached|reasoning; cached are "
        "part of input, reasoning part of output)",
        ["model", "type"],
        tokens,
    )
    yield _counter(
        "client_requests",
        "Requests by client key (its configured name) and status",
        ["client", "status"],
        m.clients,
    )
    yield _counter("client_cost_usd", "Cost in USD by client key", ["client"], _one(m.client_cost))


def _latency_families(m: Any) -> Iterator[Metric]:
    yield _histogram(
        "request_duration_seconds", "End-to-end request duration", ["node"],
        fold_histograms(m.shapes, "duration", _by_node),
    )  # fmt: skip
    yield _histogram(
        "time_to_first_token_seconds",
        "Streams: time until the first token was ready to send",
        ["node"],
        fold_histograms(m.shapes, "ttft", _by_node),
    )
    yield _histogram(
        "overhead_seconds", "Time spent in the gateway itself (excluding provider time)", [],
        {(): m.overhead},
    )  # fmt: skip


def _state_families(m: Any) -> Iterator[Metric]:
    circuit = GaugeMetricFamily(
        f"{_NS}_circuit_state",
        "Circuit state per model (0 closed, 1 half-open, 2 open)",
        labels=["model"],
    )
    for model, value in list(m.circuit.items()):
        circuit.add_metric([model], value)
    yield circuit
    build = GaugeMetricFamily(
        f"{_NS}_build_info",
        "The running build: 1, with its version and Python's",
        labels=["version", "python_version"],
    )
    build.add_metric([__version__, platform.python_version()], 1)
    yield build
    if m.config_version is not None:
        config = GaugeMetricFamily(
            f"{_NS}_config_info",
            "The configuration live in this process: 1, with its version",
            labels=["version"],
        )
        config.add_metric([m.config_version()], 1)
        yield config
    yield _counter(
        "config_reloads",
        "Configuration reloads by result (ok|failed)",
        ["result"],
        _one(m.config_reloads),
    )


def _one(values: Mapping[Any, Any]) -> dict[tuple[Any, ...], Any]:
    """Single-label keys as 1-tuples (a snapshot: the request path may add keys meanwhile)."""
    return {(key,): value for key, value in list(values.items())}


def _counter(
    name: str, documentation: str, labels: list[str], values: Mapping[Any, float]
) -> CounterMetricFamily:
    family = CounterMetricFamily(f"{_NS}_{name}", documentation, labels=labels)
    for key, value in list(values.items()):
        family.add_metric(list(key), value)
    return family


def _histogram(
    name: str, documentation: str, labels: list[str], values: Mapping[Any, Histogram]
) -> HistogramMetricFamily:
    family = HistogramMetricFamily(f"{_NS}_{name}", documentation, labels=labels)
    for key, histogram in list(values.items()):
        family.add_metric(list(key), histogram.buckets(), histogram.total)
    return family
