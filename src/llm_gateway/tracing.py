"""Traces of requests and the metrics computed from them.

``get_tracer()`` returns the process's :class:`Tracer`. Every request is counted in per-minute
aggregates (bounded by ``GATEWAY_METRICS_RETENTION_HOURS``); a sampled share of requests
(``GATEWAY_TRACE_SAMPLING_RATE``, failures always) is kept in full in a bounded in-memory ring,
and handed to an optional durable sink off the request path. Prompt and completion text is never
stored unless the tracer is told to.
"""

from __future__ import annotations

import bisect
import math
import random
import time
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

import orjson

from llm_gateway.redaction import redact, redact_json

_BUCKET_S = 60
# Log-spaced duration histogram edges in ms: 0.25 ms .. ~17 min, ~12% apart.
_EDGES = tuple(0.25 * 1.12**i for i in range(160))


@dataclass(slots=True)
class _MinuteBucket:
    count: int = 0
    errors: int = 0
    duration_sum_ms: float = 0.0
    cost: Decimal = Decimal(0)
    histogram: Counter[int] = field(default_factory=Counter)
    models: Counter[str] = field(default_factory=Counter)
    capabilities: Counter[str] = field(default_factory=Counter)
    nodes: Counter[str] = field(default_factory=Counter)


class TraceSink(Protocol):
    """Durable storage for sampled traces (the record store's writer); must not block. It gets
    the trace as kept (references, unrendered) and renders it off the request path."""

    def submit(self, trace: dict[str, Any]) -> None: ...


class Tracer:
    """Bounded in-memory traces and per-minute metrics. Not thread-safe: one event loop."""

    def __init__(
        self,
        *,
        sampling_rate: float = 1.0,
        retention_hours: int = 168,
        max_traces: int = 10_000,
        enabled: bool = True,
        sink: TraceSink | None = None,
        clock: Callable[[], float] = time.time,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.sampling_rate = sampling_rate
        self.enabled = enabled
        self.sink = sink
        self.content_chars = 0  # > 0: keep prompt and completion text, each capped at this
        self.records: Any = None  # GatewayRecords, once the serving gateway has a record store
        self.reader_url: str | None = None  # another process's: read the store at this URL
        self._retention_s = retention_hours * 3600
        self._max_traces = max_traces
        self._clock = clock
        self._rand = rand
        # Keyed by request (ids made here, unique), grouped by trace id: a caller reusing an
        # X-Trace-Id never overwrites another request's trace.
        self._traces: OrderedDict[int, dict[str, Any]] = OrderedDict()
        self._by_trace: dict[str, list[int]] = {}
        self._next_key = 0
        self._buckets: OrderedDict[int, _MinuteBucket] = OrderedDict()

    def record(
        self,
        *,
        trace_id: str,
        duration_ms: float,
        ok: bool,
        model: str | None,
        node: str,
        cost: Decimal,
        capabilities: tuple[str, ...] = (),
        detail: Callable[[], dict[str, Any]] | None = None,
        notable: bool = False,
    ) -> None:
        """Count the request; keep its full trace (built lazily by ``detail``) when sampled.
        Failures and ``notable`` requests (retried, fallen back, recovered) are always kept."""
        now = self._clock()
        bucket = self._bucket(now)
        bucket.count += 1
        bucket.errors += 0 if ok else 1
        bucket.duration_sum_ms += duration_ms
        bucket.cost += cost
        bucket.histogram[bisect.bisect_left(_EDGES, duration_ms)] += 1
        if model:
            bucket.models[model] += 1
        bucket.nodes[node] += 1
        for capability in capabilities:
            bucket.capabilities[capability] += 1
        if not self.enabled or detail is None:
            return
        if ok and not notable and self._rand() >= self.sampling_rate:
            return
        trace = detail()
        messages = trace.pop("_prompt_messages", None)
        answer = trace.pop("_answer_text", None)
        if self.content_chars:
            trace["prompt"] = _capped_messages(messages, self.content_chars)
            trace["completion"] = _cap(answer, self.content_chars)
        trace["timestamp"] = now
        self._keep(trace_id, trace)
        if self.sink is not None:
            self.sink.submit(trace)

    def _keep(self, trace_id: str, trace: dict[str, Any]) -> None:
        key = self._next_key = self._next_key + 1
        trace.setdefault("request_key", key)
        self._traces[key] = trace
        self._by_trace.setdefault(trace_id, []).append(key)
        if len(self._traces) > self._max_traces:
            _, oldest = self._traces.popitem(last=False)
            keys = self._by_trace.get(oldest["trace_id"], [])
            if keys:
                keys.pop(0)  # the oldest of its trace is the oldest kept
            if not keys:
                self._by_trace.pop(oldest["trace_id"], None)

    def get_trace(self, trace_id: str) -> dict[str, Any] | None:
        """The newest request of ``trace_id``, with ``requests``: every kept request of that
        trace (newest first, each rendered in full) when there is more than one."""
        keys = self._by_trace.get(trace_id)
        if not keys:
            return None
        traces = [render_trace(self._traces[key]) for key in reversed(keys)]
        newest = dict(traces[0])
        newest["request_count"] = len(traces)
        if len(traces) > 1:
            newest["requests"] = traces
        return newest

    def list_traces(
        self,
        hours: float = 1.0,
        limit: int = 100,
        *,
        errors_only: bool = False,
        node: str | None = None,
        model: str | None = None,
        status: str | None = None,
    ) -> list[dict[str, Any]]:
        """Newest first, within the last ``hours``; ``node``, ``model`` (the answering one) and
        ``status`` (``ok``, ``error``, ``refused``, ``cancelled``) keep only the matching."""
        since = self._clock() - hours * 3600
        out = []
        for trace in reversed(self._traces.values()):
            if trace["timestamp"] < since:
                break
            if errors_only and trace.get("ok", True):
                continue
            if (
                (node and trace.get("node_name") != node)
                or (model and trace.get("model") != model)
                or (status and trace.get("status") != status)
            ):
                continue
            out.append(render_trace(trace))
            if len(out) >= limit:
                break
        return out

    async def get_trace_metrics(
        self, hours: float = 1.0, *, node: str | None = None, model: str | None = None
    ) -> dict[str, Any]:
        """The guide's metrics over the last ``hours`` (every request, not only sampled ones).

        With a record store (the serving gateway's, or ``DATABASE_URL`` in a process that has
        served nothing itself) they are read from its ledger, so every process and replica
        reports the same numbers; otherwise from this process's memory.
        """
        if self.records is not None:
            from llm_gateway.storage import queries

            return await queries.trace_metrics(self.records.store, hours, node=node, model=model)
        if self.reader_url is not None and not self._buckets:
            # This process has served nothing itself (a script, a monitor): report the
            # serving gateway's numbers from the store.
            from llm_gateway.storage.reader import read_trace_metrics

            found = await read_trace_metrics(self.reader_url, hours, node=node, model=model)
            if found is not None:
                return found
        return self.metrics(hours)

    def metrics(self, hours: float = 1.0) -> dict[str, Any]:
        since = int((self._clock() - hours * 3600) // _BUCKET_S)
        total = _MinuteBucket()
        for minute, bucket in self._buckets.items():
            if minute < since:
                continue
            total.count += bucket.count
            total.errors += bucket.errors
            total.duration_sum_ms += bucket.duration_sum_ms
            total.cost += bucket.cost
            total.histogram.update(bucket.histogram)
            total.models.update(bucket.models)
            total.capabilities.update(bucket.capabilities)
            total.nodes.update(bucket.nodes)
        n = total.count
        return {
            "hours": hours,
            "source": "memory",  # this process's own requests (no record store read)
            "request_count": n,
            "error_count": total.errors,
            "error_rate": total.errors / n if n else 0.0,
            "avg_duration_ms": total.duration_sum_ms / n if n else 0.0,
            "avg_latency": total.duration_sum_ms / n if n else 0.0,
            "p95_duration_ms": _percentile(total.histogram, n, 0.95),
            "total_cost": float(total.cost),
            "cost_per_request": float(total.cost / n) if n else 0.0,
            "model_distribution": dict(total.models.most_common()),
            "capability_usage": dict(total.capabilities.most_common()),
            "node_distribution": dict(total.nodes.most_common()),
        }

    def hourly_cost(self, now: float | None = None) -> Decimal:
        since = int(((now or self._clock()) - 3600) // _BUCKET_S)
        return sum((b.cost for m, b in self._buckets.items() if m >= since), Decimal(0))

    def _bucket(self, now: float) -> _MinuteBucket:
        minute = int(now // _BUCKET_S)
        bucket = self._buckets.get(minute)
        if bucket is None:
            bucket = self._buckets[minute] = _MinuteBucket()
            horizon = minute - self._retention_s // _BUCKET_S
            while self._buckets and next(iter(self._buckets)) < horizon:
                self._buckets.popitem(last=False)
        return bucket


def render_trace(trace: dict[str, Any]) -> dict[str, Any]:
    """A JSON-ready copy: objects kept by reference on the request path are rendered here."""
    return {key: _render(value) for key, value in trace.items()}


def render_trace_json(trace: dict[str, Any]) -> str:
    """The stored form of a trace: :func:`render_trace`'s document as JSON text, serialized in
    one C call (request-path objects through :func:`_json_default`) and redacted in one pass."""
    return redact_json(orjson.dumps(trace, default=_json_default, option=_JSON_OPTIONS).decode())


_JSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_NON_STR_KEYS


def _json_default(value: Any) -> Any:
    """What :func:`_render` makes of the values orjson does not serialize itself."""
    to_dict = getattr(value, "to_dict", None)  # GatewayError: {"error": {...}}
    if to_dict is not None:
        rendered = to_dict()
        return rendered.get("error", rendered)
    as_dict = getattr(value, "as_dict", None)
    if as_dict is not None:
        return as_dict()
    return str(value)  # Decimal and the rest


def _render(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)  # attempt errors carry upstream text
    if value is None or isinstance(value, int | float | bool):
        return value
    if isinstance(value, list | tuple):
        return [_render(item) for item in value]
    if isinstance(value, dict):
        return {key: _render(item) for key, item in value.items()}
    to_dict = getattr(value, "to_dict", None)  # GatewayError: {"error": {...}}
    if to_dict is not None:
        rendered = to_dict()
        return rendered.get("error", rendered)
    as_dict = getattr(value, "as_dict", None)
    if as_dict is not None:
        return as_dict()
    if isinstance(value, Decimal):
        return str(value)
    return str(value)


def _cap(text: Any, limit: int) -> str | None:
    if not isinstance(text, str):
        return None
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} characters)"


def _capped_messages(messages: Any, limit: int) -> list[dict[str, Any]] | None:
    """The messages' roles and text, within ``limit`` characters in all (newest kept)."""
    if not isinstance(messages, list):
        return None
    out: list[dict[str, Any]] = []
    left = limit
    for message in reversed(messages[-50:]):
        if not isinstance(message, dict):
            continue
        content = message.get("content")
        if not isinstance(content, str):
            parts = content if isinstance(content, list) else []
            content = " ".join(
                str(p.get("text", "")) for p in parts if isinstance(p, dict) and "text" in p
            )
        out.append({"role": str(message.get("role"))[:32], "content": _cap(content, max(left, 0))})
        left -= len(content)
        if left <= 0:
            break
    out.reverse()
    return out


def _percentile(histogram: Counter[int], n: int, q: float) -> float:
    if not n:
        return 0.0
    rank = math.ceil(q * n)
    seen = 0
    for index in sorted(histogram):
        seen += histogram[index]
        if seen >= rank:
            return _EDGES[min(index, len(_EDGES) - 1)]
    return _EDGES[-1]


_tracer: Tracer | None = None


def get_tracer() -> Tracer:
    """The process's tracer (the gateway's, once one is built)."""
    global _tracer
    if _tracer is None:
        from llm_gateway.settings import get_settings

        settings = get_settings()
        _tracer = Tracer(
            sampling_rate=settings.GATEWAY_TRACE_SAMPLING_RATE,
            retention_hours=settings.GATEWAY_METRICS_RETENTION_HOURS,
            enabled=settings.ENABLE_MODEL_TRACING,
        )
        _tracer.reader_url = settings.database_url
    return _tracer


def set_tracer(tracer: Tracer | None) -> None:
    global _tracer
    _tracer = tracer
