"""OpenTelemetry traces of requests, with the GenAI semantic conventions (optional extra ``otel``).

With ``OTEL_EXPORTER_OTLP_ENDPOINT`` set, every finished request becomes a ``SERVER`` span
``chat <model field>`` with one ``CLIENT`` child span per call to a model (``chat <provider
model id>``), exported over OTLP/HTTP by a ``BatchSpanProcessor`` (its own thread).

The request path pays nothing for it: no span is open while the request runs. When the gateway
settles a request it hands the plan (selection, attempts with their monotonic timestamps, usage,
cost) to :meth:`OtelTraces.record`, which schedules the spans' construction for the event loop's
next turn; they are built after the fact with explicit start and end times. With the variable
unset, :func:`build_otel_traces` returns None and the gateway skips even that call.

Context: a valid W3C ``traceparent`` from the caller makes the request span its child (same
trace id, its span id as parent; an unsampled parent is honoured). Otherwise the span's trace id
is the gateway's own trace id when that is 32 hex characters (the generated ones are), so the
``X-Trace-Id`` a caller got back finds the trace in the tracing backend.

The rest of the SDK configuration comes from the standard variables (``OTEL_SERVICE_NAME``,
``OTEL_RESOURCE_ATTRIBUTES``, ``OTEL_EXPORTER_OTLP_HEADERS``, ``OTEL_TRACES_SAMPLER``, ...).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Mapping
from typing import Any

from llm_gateway import __version__
from llm_gateway.cost import CostBreakdown
from llm_gateway.errors import ConfigError, ConfigIssue, GatewayError
from llm_gateway.exchange import AttemptRecord, Plan
from llm_gateway.model_policy import ModelPolicy
from llm_gateway.providers.base import Usage
from llm_gateway.redaction import redact

logger = logging.getLogger("llm_gateway.otel")

OPERATION = "chat"
_HEX_TRACE_ID = re.compile(r"^[0-9a-f]{32}$")
_MAX_ATTRIBUTE = 128  # caller-chosen strings (model field, node) are capped


class OtelTraces:
    """Builds and exports the spans of finished requests. One per gateway."""

    def __init__(self, provider: Any) -> None:
        from opentelemetry.trace import SpanKind, Status, StatusCode
        from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

        self.provider = provider
        self._tracer = provider.get_tracer("llm_gateway", __version__)
        self._ids: Any = provider.id_generator
        self._propagator = TraceContextTextMapPropagator()
        self._kind = SpanKind
        self._status = Status
        self._code = StatusCode

    def record(
        self,
        plan: Plan,
        policy: ModelPolicy | None,
        usage: Usage | None,
        cost: CostBreakdown,
        error: GatewayError | None,
        status: str,
    ) -> None:
        """Schedule the request's spans (built on the loop's next turn, never raising)."""
        ended = (time.monotonic(), time.time_ns())
        args = (plan, policy, usage, cost, error, status, ended)
        try:
            asyncio.get_running_loop().call_soon(self._build_safely, *args)
        except RuntimeError:  # no loop (a synchronous caller): build now
            self._build_safely(*args)

    def force_flush(self, timeout_ms: int = 10_000) -> bool:
        return bool(self.provider.force_flush(timeout_ms))

    def shutdown(self) -> None:
        self.provider.shutdown()

    def _build_safely(self, *args: Any) -> None:
        try:
            self._build(*args)
        except Exception:  # telemetry must never fail the gateway
            logger.exception("could not build the OpenTelemetry spans of a request")

    def _build(
        self,
        plan: Plan,
        policy: ModelPolicy | None,
        usage: Usage | None,
        cost: CostBreakdown,
        error: GatewayError | None,
        status: str,
        ended: tuple[float, int],
    ) -> None:
        from opentelemetry import trace

        end_mono, end_ns = ended

        def wall(monotonic: float) -> int:
            return end_ns - int((end_mono - monotonic) * 1e9)

        parent = self._parent(plan)
        if parent is None and _HEX_TRACE_ID.match(plan.trace_id):
            self._ids.next_trace_id = int(plan.trace_id, 16)
        span = self._tracer.start_span(
            f"{OPERATION} {_requested(plan)}",
            context=parent,
            kind=self._kind.SERVER,
            start_time=wall(plan.started_at),
            attributes=request_attributes(plan, policy, usage, cost, error, status),
        )
        self._ids.next_trace_id = None
        if error is not None:
            span.set_status(self._status(self._code.ERROR, redact(error.message)))
        context = trace.set_span_in_context(span)
        for attempt in plan.attempts:
            if attempt.skipped:
                span.add_event(
                    "model skipped",
                    {"llm_gateway.model": attempt.model, "reason": attempt.error or ""},
                    timestamp=wall(attempt.started_at),
                )
                continue
            self._attempt_span(plan, attempt, context, wall)
        span.end(end_time=end_ns)

    def _attempt_span(self, plan: Plan, attempt: AttemptRecord, context: Any, wall: Any) -> None:
        child = self._tracer.start_span(
            f"{OPERATION} {_provider_model(plan, attempt.model)}",
            context=context,
            kind=self._kind.CLIENT,
            start_time=wall(attempt.started_at),
            attributes=attempt_attributes(plan, attempt),
        )
        if not attempt.ok:
            child.set_status(self._status(self._code.ERROR, redact(attempt.error or "")))
        child.end(end_time=wall(attempt.started_at + attempt.duration_ms / 1000))

    def _parent(self, plan: Plan) -> Any:
        header = plan.route.traceparent
        if not header:
            return None
        from opentelemetry import trace

        context = self._propagator.extract({"traceparent": header})
        if not trace.get_current_span(context).get_span_context().is_valid:
            return None
        return context


def request_attributes(
    plan: Plan,
    policy: ModelPolicy | None,
    usage: Usage | None,
    cost: CostBreakdown,
    error: GatewayError | None,
    status: str,
) -> dict[str, Any]:
    """The request span's attributes: GenAI conventions first, then the gateway's own."""
    request = plan.request
    selection = plan.selection
    out: dict[str, Any] = {
        "gen_ai.operation.name": OPERATION,
        "gen_ai.request.model": _requested(plan),
        "llm_gateway.node": plan.route.node_label,
        "llm_gateway.strategy": selection.strategy.value,
        "llm_gateway.selected_model": selection.selected_model.logical_id,
        "llm_gateway.status": status,
        "llm_gateway.stream": plan.stream,
        "llm_gateway.trace_id": plan.trace_id,
        "llm_gateway.request_id": plan.request_id,
        "llm_gateway.attempts": sum(1 for a in plan.attempts if not a.skipped),
        "llm_gateway.cost_usd": float(cost.total),
        "llm_gateway.cost_source": cost.source,
    }
    out.update(_request_parameters(request))
    if plan.route.caller_node:
        out["llm_gateway.caller_node"] = plan.route.caller_node[:_MAX_ATTRIBUTE]
    if plan.route.api_key_id:
        out["llm_gateway.client"] = plan.route.api_key_id
    if policy is not None:
        out["gen_ai.response.model"] = policy.logical_id
        out["gen_ai.provider.name"] = policy.provider
        out["llm_gateway.provider_model_id"] = policy.provider_model_id
        out["llm_gateway.fallback_index"] = _index(plan, policy.logical_id)
        out["llm_gateway.fallback_used"] = policy is not selection.selected_model
    if usage is not None:
        out["gen_ai.usage.input_tokens"] = usage.prompt_tokens
        out["gen_ai.usage.output_tokens"] = usage.completion_tokens
        out["gen_ai.usage.cache_read.input_tokens"] = usage.cached_prompt_tokens
        out["gen_ai.usage.reasoning.output_tokens"] = usage.reasoning_tokens
    if plan.finish_reason:
        out["gen_ai.response.finish_reasons"] = (plan.finish_reason,)
    if plan.ttft_ms is not None:
        out["llm_gateway.ttft_ms"] = plan.ttft_ms
    if error is not None:
        out["error.type"] = error.error_type
    return out


def attempt_attributes(plan: Plan, attempt: AttemptRecord) -> dict[str, Any]:
    """One call to one model: GenAI conventions plus the model's place in the chain."""
    provider_model = _provider_model(plan, attempt.model)
    out: dict[str, Any] = {
        "gen_ai.operation.name": OPERATION,
        "gen_ai.provider.name": attempt.provider,
        "gen_ai.request.model": provider_model,
        "llm_gateway.model": attempt.model,
        "llm_gateway.fallback_index": _index(plan, attempt.model),
        "llm_gateway.retry_index": attempt.retry_index,
    }
    if attempt.ok:
        out["gen_ai.response.model"] = provider_model
    else:
        out["error.type"] = attempt.error_type or "error"
        if attempt.decision:
            out["llm_gateway.decision"] = attempt.decision
        if attempt.upstream_status is not None:
            out["http.response.status_code"] = attempt.upstream_status
    return out


def _request_parameters(request: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for field, attribute in (
        ("max_tokens", "gen_ai.request.max_tokens"),
        ("max_completion_tokens", "gen_ai.request.max_tokens"),
        ("temperature", "gen_ai.request.temperature"),
        ("top_p", "gen_ai.request.top_p"),
        ("seed", "gen_ai.request.seed"),
    ):
        value = request.get(field)
        if isinstance(value, int | float) and not isinstance(value, bool):
            out[attribute] = value
    return out


def _requested(plan: Plan) -> str:
    model = plan.request.get("model")
    return model[:_MAX_ATTRIBUTE] if isinstance(model, str) and model else plan.route.node_label


def _index(plan: Plan, model: str) -> int:
    for index, policy in enumerate(plan.selection.candidates):
        if policy.logical_id == model:
            return index
    return -1


def _provider_model(plan: Plan, model: str) -> str:
    for policy in plan.selection.candidates:
        if policy.logical_id == model:
            return policy.provider_model_id
    return model


def _id_generator() -> Any:
    from opentelemetry.sdk.trace.id_generator import RandomIdGenerator

    class PlanIds(RandomIdGenerator):
        """Random ids, except the trace id set for the span about to start (the gateway's)."""

        next_trace_id: int | None = None

        def generate_trace_id(self) -> int:
            if self.next_trace_id:
                return self.next_trace_id
            return super().generate_trace_id()

    return PlanIds()


def build_otel_traces(settings: Any) -> OtelTraces | None:
    """The exporter when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set, else None.

    Raises ConfigError when it is set but the ``otel`` extra is not installed.
    """
    endpoint = settings.OTEL_EXPORTER_OTLP_ENDPOINT
    if not endpoint:
        return None
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import SERVICE_NAME, SERVICE_VERSION, Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError as exc:
        issue = ConfigIssue(
            "environment",
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "set, but OpenTelemetry is not installed: pip install 'llm-gateway[otel]'",
        )
        raise ConfigError([issue]) from exc
    resource = Resource.create({SERVICE_VERSION: __version__}).merge(
        Resource.create({SERVICE_NAME: settings.OTEL_SERVICE_NAME})
    )
    provider = TracerProvider(resource=resource, id_generator=_id_generator())
    exporter = OTLPSpanExporter(endpoint=endpoint.rstrip("/") + "/v1/traces")
    provider.add_span_processor(BatchSpanProcessor(exporter))
    logger.info("OpenTelemetry: request spans exported over OTLP/HTTP")
    return OtelTraces(provider)
