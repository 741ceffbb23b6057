"""What the request path records: plain in-process counters, turned into families on scrape.

Each request costs a few dict lookups and adds (no locks, no label objects: the gateway serves
from one event loop). Every label value is bounded by construction: nodes are
``Route.node_label`` (configured names and patterns, else ``default``), models and providers
come from the catalogue, capabilities from the :class:`Capability` enum, error types from the
gateway's exception classes, and client names from the configured keys (capped at
``MAX_CLIENTS``, the rest counted as ``other``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from llm_gateway.cost import CostBreakdown
from llm_gateway.errors import GatewayError
from llm_gateway.exchange import Plan
from llm_gateway.metrics.histogram import (
    GENAI_DURATION_BUCKETS,
    GENAI_TOKEN_BUCKETS,
    GENAI_TTFT_BUCKETS,
    OVERHEAD_BUCKETS,
    Histogram,
    Histograms,
)
from llm_gateway.model_policy import ModelPolicy
from llm_gateway.providers.base import Usage
from llm_gateway.resilience.circuit import CircuitState

CONTENT_TYPE = CONTENT_TYPE_LATEST
MAX_CLIENTS = 256  # client key names counted apart; more are configured only by mistake
_CIRCUIT_VALUE = {CircuitState.CLOSED: 0, CircuitState.HALF_OPEN: 1, CircuitState.OPEN: 2}

# Yields extra families at scrape time (budgets, rate limits: see GatewayMetrics.add_collector).
FamilySource = Callable[[], Iterable[Metric]]


class Shape:
    """What requests of one shape added up to. A shape is the tuple ``(node, primary, model,
    provider, status, error_type, answered)`` (``primary`` the selected model, ``model`` the one
    that answered, or was tried last when ``answered`` is false); every per-request family is a
    sum of shapes over some of these, made at scrape time, so a request updates one record."""

    __slots__ = ("cached", "cost", "duration", "input", "output", "reasoning", "ttft", "untimed")

    def __init__(self) -> None:
        self.untimed = 0  # requests counted without a duration (refused before any call)
        self.duration = Histogram(GENAI_DURATION_BUCKETS)  # its count is the request count
        self.ttft = Histogram(GENAI_TTFT_BUCKETS)
        self.input = Histogram(GENAI_TOKEN_BUCKETS)
        self.output = Histogram(GENAI_TOKEN_BUCKETS)
        self.cached = 0
        self.reasoning = 0
        self.cost = 0.0


ShapeKey = tuple[str, str, str, str, str, str, bool]


class GatewayMetrics:
    """The gateway's counters, histograms and gauges, and the registry that exposes them.

    ``registry`` (one per gateway) also carries prometheus-client's process, platform and GC
    collectors, so a scrape of ``/metrics`` has ``process_*`` and ``python_*`` too.
    """

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.shapes: dict[ShapeKey, Shape] = {}
        self.attempts: defaultdict[tuple[str, str], int] = defaultdict(int)
        self.retries: defaultdict[str, int] = defaultdict(int)
        self.attempt_duration = Histograms(GENAI_DURATION_BUCKETS)  # (provider, model, error)
        self.capabilities: defaultdict[str, int] = defaultdict(int)
        self.clients: defaultdict[tuple[str, str], int] = defaultdict(int)
        self.client_cost: defaultdict[str, float] = defaultdict(float)
        self.overhead = Histogram(OVERHEAD_BUCKETS)
        self.circuit: dict[str, int] = {}
        self.config_reloads: defaultdict[str, int] = defaultdict(int)
        self.record_writer: Any = None  # the record store's RecordWriter, when there is one
        self.cache_stats: Any = None  # the response cache's CacheStats
        self.config_version: Callable[[], str] | None = None
        self.sources: list[FamilySource] = []
        from llm_gateway.metrics.families import register_collectors

        register_collectors(self)

    def add_collector(self, source: FamilySource) -> None:
        """Have ``source()`` yield more families on every scrape (budgets, rate limits).

        It runs at scrape time only, never on the request path; it must keep its label values
        bounded like the rest (configured names only) and not raise.
        """
        self.sources.append(source)

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
        """Count one finished request (the same one its ledger row records)."""
        if policy is not None:
            model, provider = policy.logical_id, policy.provider
        else:
            last = _last_called(plan)
            model, provider = (last.model, last.provider) if last else ("none", "none")
        status = status or ("ok" if error is None else "error")
        key = (
            plan.route.node_label,
            plan.selection.selected_model.logical_id,
            model,
            provider,
            status,
            error.error_type if error is not None else "",
            policy is not None,
        )
        shape = self.shapes.get(key)
        if shape is None:
            shape = self.shapes[key] = Shape()
        shape.duration.observe(duration_s)
        if plan.ttft_ms is not None:
            shape.ttft.observe(plan.ttft_ms / 1000)
        self.overhead.observe(overhead_s)
        for attempt in plan.attempts:
            self._observe_attempt(attempt)
        for capability in plan.requirements.hard_capabilities:
            self.capabilities[capability] += 1
        total = float(cost.total)
        shape.cost += total
        if usage is not None and policy is not None:
            shape.input.observe(usage.prompt_tokens)
            shape.output.observe(usage.completion_tokens)
            shape.cached += usage.cached_prompt_tokens
            shape.reasoning += usage.reasoning_tokens
        client = plan.route.api_key_id
        if client is not None:
            client = self._client_label(client)
            self.clients[(client, status)] += 1
            self.client_cost[client] += total

    def _observe_attempt(self, attempt: Any) -> None:
        if attempt.skipped:
            self.attempts[(attempt.model, "skipped")] += 1
            return
        self.attempts[(attempt.model, "ok" if attempt.ok else "error")] += 1
        if attempt.retry_index:
            self.retries[attempt.model] += 1
        key = (attempt.provider, attempt.model, attempt.error_type or "")
        self.attempt_duration[key].observe(attempt.duration_ms / 1000)

    def observe_refused(self, node_label: str, error: GatewayError) -> None:
        """Count a request refused before any model was called (its ledger row: ``refused``).

        Its duration is not observed: it is counted in ``llm_gateway_requests_total`` only."""
        key = (node_label, "none", "none", "none", "refused", error.error_type, False)
        shape = self.shapes.get(key)
        if shape is None:
            shape = self.shapes[key] = Shape()
        shape.untimed += 1

    def set_circuit(self, model: str, state: CircuitState) -> None:
        self.circuit[model] = _CIRCUIT_VALUE[state]

    def _client_label(self, name: str) -> str:
        if name in self.client_cost or len(self.client_cost) < MAX_CLIENTS:
            return name
        return "other"

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


def _last_called(plan: Plan) -> Any:
    for attempt in reversed(plan.attempts):
        if not attempt.skipped:
            return attempt
    return None
