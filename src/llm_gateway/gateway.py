"""The gateway core: the one pipeline every entry point calls.

    complete(request, route)  /  stream(request, route)
      1. plan     resolve requirements, estimate tokens, select primary + fallbacks (cached)
      2. admit    admission hooks (budgets, rate limits) reserve before any call
      3. attempt  ChainRunner: circuit → provider → retry/fallback (chain.py; streaming.py)
      4. settle   cost from provider-reported usage or list prices; hooks settle reservations
      5. record   selection signals, tracer metrics and sampled trace — in memory, O(1)

``get_llm_gateway()`` returns the process's gateway; ``build_gateway(settings)`` builds one (the
HTTP app does this in its lifespan and installs it with ``set_llm_gateway``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from typing import Any, Protocol

from llm_gateway.admitted_stream import AdmittedStream
from llm_gateway.cache.replay import answer_from_cache, hit_model, usage_of
from llm_gateway.cache.store import CachedAnswer, ResponseCache
from llm_gateway.chain import ChainRunner
from llm_gateway.cost import ZERO_COST, CostBreakdown
from llm_gateway.errors import GatewayError, InvalidRequest
from llm_gateway.exchange import GatewayResponse, Plan, Route, resolve_deadlines
from llm_gateway.health import build_health_report
from llm_gateway.ledger_rows import refused_row
from llm_gateway.metrics import GatewayMetrics
from llm_gateway.model_policy import (
    DEFAULT_DEADLINES,
    Deadlines,
    ModelPolicy,
    ModelPolicyRegistry,
    set_model_policy_registry,
)
from llm_gateway.model_selector import (
    ModelSelector,
    SelectionContext,
    set_model_selector,
)
from llm_gateway.otel import OtelTraces, build_otel_traces
from llm_gateway.providers.base import ProviderRequest, ProviderResponse
from llm_gateway.redaction import install_log_redaction, register_secrets
from llm_gateway.request_info import (
    implied_capabilities,
    new_trace_id,
)
from llm_gateway.resilience.availability import follow_circuit
from llm_gateway.resilience.circuit import CircuitBreakers, CircuitConfig, CircuitState
from llm_gateway.resilience.retry import RetryPolicy
from llm_gateway.rollout.flags import LiveFlags, flags_from_settings, set_live_flags
from llm_gateway.route_resolution import resolve_route
from llm_gateway.selection.signals import InMemorySignals
from llm_gateway.settings import Settings, get_settings
from llm_gateway.settlement import (
    answer_text_of,
    finish_reason_of,
    record_refusal,
    settle_and_record,
)
from llm_gateway.storage.records import LedgerRow
from llm_gateway.storage.runtime import GatewayRecords
from llm_gateway.streaming import GatewayStream
from llm_gateway.tokens import estimate_output_tokens, estimate_prompt_tokens
from llm_gateway.tracing import Tracer, set_tracer

__all__ = [
    "GatewayResponse",
    "GatewayStream",
    "LLMGateway",
    "Route",
    "build_gateway",
    "get_llm_gateway",
    "set_llm_gateway",
]


logger = logging.getLogger("llm_gateway.gateway")


class AdmissionHook(Protocol):
    """Budgets and rate limits: reserve before the call, settle after it."""

    async def admit(self, plan: Plan) -> None: ...

    async def settle(self, plan: Plan, cost: CostBreakdown, ok: bool) -> None: ...


class LLMGateway:
    """Selection, admission, attempts, settlement and recording for every request."""

    def __init__(
        self,
        *,
        settings: Settings,
        registry: ModelPolicyRegistry,
        selector: ModelSelector,
        signals: InMemorySignals,
        providers: Any,
        circuits: CircuitBreakers,
        tracer: Tracer,
        admission: list[AdmissionHook] | None = None,
    ) -> None:
        self.settings = settings
        self.registry = registry
        self.selector = selector
        self.signals = signals
        self.providers = providers
        self.circuits = circuits
        self.tracer = tracer
        self.admission: list[AdmissionHook] = admission or []
        self.records: GatewayRecords | None = None
        self.control: Any = None  # the ControlPlane sharing state with the other replicas
        self.budgets: Any = None  # the BudgetManager (one of the admission hooks), when serving
        self.otel: OtelTraces | None = None  # OpenTelemetry spans, when an endpoint is set
        self.alerts: Any = None  # the AlertService evaluating alerts.yaml, when serving
        self.rollout: Any = None  # the RolloutService (flags view, rollback guard), when serving
        self.limits: Any = None  # the RateLimiter (limits/), settled with each answer's usage
        self._pending_rows: set[asyncio.Task[None]] = set()
        # The rollout flags in force (a serving app installs its own, shared by its replicas)
        self.flags = LiveFlags(flags_from_settings(settings))
        self.metrics = GatewayMetrics()
        self.cache = ResponseCache(
            max_ttl_s=settings.GATEWAY_CACHE_MAX_TTL_S,
            max_entry_chars=settings.GATEWAY_CACHE_MAX_ENTRY_BYTES,
        )
        self.metrics.cache_stats = self.cache.stats
        self.metrics.config_version = lambda: self.registry.version
        self.runner = ChainRunner(
            providers=providers,
            circuits=circuits,
            signals=signals,
            retry=RetryPolicy(
                max_retries=settings.GATEWAY_MAX_RETRIES,
                base_delay_s=settings.GATEWAY_RETRY_DELAY,
            ),
            fallback_enabled=settings.GATEWAY_FALLBACK_ENABLED,
            openrouter_fallback=lambda: self.flags.current().openrouter_fallback_enabled,
        )
        self._deadlines = Deadlines(
            headers_s=settings.GATEWAY_HEADERS_TIMEOUT,
            first_token_s=settings.GATEWAY_FIRST_TOKEN_TIMEOUT,
            stall_s=settings.GATEWAY_STALL_TIMEOUT,
            total_s=settings.GATEWAY_TOTAL_TIMEOUT,
        ).merged_over(DEFAULT_DEADLINES)
        circuits.subscribe(self._on_circuit_change)

    # -- entry points ---------------------------------------------------------------------

    # Map the ``model`` field and headers to a Route (see route_resolution.resolve_route).
    resolve_route = resolve_route

    async def complete(self, request: Mapping[str, Any], route: Route) -> GatewayResponse:
        """The whole answer from the first model that gives one. Raises GatewayError."""
        plan = self.planned(request, route, stream=False)
        ticket = self.cache.ticket(plan)
        if ticket is not None:
            hit = await self.cache.get(ticket, route.node_label)
            if hit is not None and hit.body is not None:
                cached_model = hit_model(self, plan, hit)
                if cached_model is not None:
                    return await answer_from_cache(self, plan, cached_model, hit)
        await self._admit(plan)
        try:
            policy, response = await self.runner.run(plan, self._call_complete)
        except GatewayError as error:
            await self.finish(plan, None, None, error)
            raise
        body = response.body
        body["model"] = policy.logical_id
        if self.tracer.content_chars:
            plan.answer_text = answer_text_of(body)
        if self.otel is not None:
            plan.finish_reason = finish_reason_of(body)
        cost = await self.finish(plan, policy, response.usage, None)
        usage = body.get("usage")
        if isinstance(usage, dict):
            usage["cost"] = float(cost.total)
        if ticket is not None:
            self.cache.put_later(
                ticket, CachedAnswer(policy.logical_id, usage_of(response.usage), cost.total, body)
            )
        return GatewayResponse(
            body=body,
            model=policy,
            usage=response.usage,
            cost=cost,
            attempts=plan.attempts,
            trace_id=plan.trace_id,
            overhead_ms=self.overhead_ms(plan),
            duration_ms=(time.monotonic() - plan.started_at) * 1000,
            cache="miss" if ticket is not None else None,
            headers=plan.answer_headers,
        )

    def stream(self, request: Mapping[str, Any], route: Route) -> GatewayStream:
        """A stream to ``await .start()`` and iterate; see :mod:`llm_gateway.streaming`."""
        return AdmittedStream(self, self.planned(request, route, stream=True))

    async def health_check(self) -> dict[str, Any]:
        """``overall_status`` (healthy|degraded|unhealthy) with provider and model detail."""
        return await build_health_report(self)

    async def readiness(self) -> dict[str, str]:
        """What this instance needs to serve, each ``"ok"`` or what is wrong.

        An upstream provider's recent failures are not among them: every replica shares the
        same upstreams, failing over between models is the gateway's job, and a readiness probe
        that failed with them would take every replica out of rotation at once. They show in
        ``health_check()`` (degraded) instead.
        """
        checks = {"config": "ok" if self.registry.get_all_policies() else "no model configured"}
        missing = self.missing_provider_keys()
        checks["providers"] = "; ".join(missing) if missing else "ok"
        return checks

    def missing_provider_keys(self) -> list[str]:
        """The keys the configured models' providers need and do not have (empty when none)."""
        finder = getattr(self.providers, "missing_keys", None)
        if finder is None:  # providers built by the embedding code: they know their keys
            return []
        used = {policy.provider for policy in self.registry.get_all_policies().values()}
        missing: list[str] = finder(used)
        return missing

    async def aclose(self) -> None:
        await self.cache.aclose()
        await self.providers.close_all()
        if self.otel is not None:
            await asyncio.to_thread(self.otel.shutdown)  # exports what is still queued

    def attach_records(self, records: GatewayRecords | None) -> None:
        """Write every request's ledger row (and sampled traces) to ``records`` from now on."""
        self.records = records
        self.tracer.sink = records
        self.tracer.records = records
        self.metrics.record_writer = records.writer if records is not None else None

    def planned(self, request: Mapping[str, Any], route: Route, *, stream: bool) -> Plan:
        """``plan()``; a request refused there still gets its ledger row."""
        started = time.monotonic()
        try:
            return self.plan(request, route, stream=stream)
        except GatewayError as error:
            self.metrics.observe_refused(route.node_label, error)
            if self.records is not None:
                self._write_row(
                    refused_row(
                        route, error, stream=stream, started_at=started, trace_id=route.trace_id
                    )
                )
            raise

    def _write_row(self, row: LedgerRow) -> None:
        assert self.records is not None
        if not self.records.writer.offer(row):  # full: wait for room, never drop the row
            task = asyncio.get_running_loop().create_task(self.records.writer.put(row))
            self._pending_rows.add(task)
            task.add_done_callback(self._pending_rows.discard)

    # -- pipeline steps -------------------------------------------------------------------

    def plan(self, request: Mapping[str, Any], route: Route, *, stream: bool) -> Plan:
        """Select models for the request; raises InvalidRequest / NoEligibleModel / NotFound."""
        messages = request.get("messages")
        if not isinstance(messages, list) or not messages:
            raise InvalidRequest("'messages' must be a non-empty array", param="messages")
        now = time.monotonic()
        input_tokens = estimate_prompt_tokens(request)
        output_tokens = estimate_output_tokens(request, None)
        context = SelectionContext(
            node_name=route.node_name,
            capabilities=implied_capabilities(request, stream, route.capabilities),
            strategy=route.strategy,
            estimated_input_tokens=input_tokens,
            estimated_output_tokens=output_tokens,
            # No trace id: the plan carries it, and the cached result is then shared as is.
            requested_model=route.requested_model,
        )
        selection = self.selector.select(context)
        options = request.get("stream_options")
        return Plan(
            request=request,
            route=route,
            trace_id=route.trace_id or new_trace_id(),
            selection=selection,
            requirements=selection.requirements,
            deadlines_default=self._deadlines,
            deadline_at=now
            + self._total_deadline(selection.requirements, selection.selected_model),
            started_at=now,
            request_id=new_trace_id(),
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            stream=stream,
            include_usage=bool(isinstance(options, dict) and options.get("include_usage")),
        )

    async def _admit(self, plan: Plan) -> None:
        admitted: list[AdmissionHook] = []
        try:
            for hook in self.admission:
                await hook.admit(plan)
                admitted.append(hook)
        except BaseException as error:
            for hook in admitted:  # a later hook refused: release what earlier ones reserved
                await hook.settle(plan, ZERO_COST, False)
            if not isinstance(error, GatewayError):
                raise
            self.metrics.observe_refused(plan.route.node_label, error)
            await record_refusal(self, plan, error)
            raise

    async def _call_complete(
        self, policy: ModelPolicy, request: ProviderRequest
    ) -> ProviderResponse:
        return await self.runner.provider_for(policy).complete(request)

    # Settle cost and reservations, then record (see settlement.settle_and_record).
    finish = settle_and_record

    def overhead_ms(self, plan: Plan) -> float:
        """Time spent in the gateway itself: elapsed minus time inside provider calls."""
        elapsed = (time.monotonic() - plan.started_at) * 1000
        upstream = sum(a.duration_ms for a in plan.attempts)
        return max(0.0, elapsed - upstream)

    def _total_deadline(self, requirements: Any, policy: ModelPolicy) -> float:
        merged = resolve_deadlines(requirements.deadlines, policy.deadlines, self._deadlines, None)
        return float(merged.total_s or self.settings.GATEWAY_TOTAL_TIMEOUT)

    def _on_circuit_change(self, model: str, old: CircuitState, new: CircuitState) -> None:
        """Keep selection's view of availability (and the gauge) in step with the breakers."""
        follow_circuit(self, model, old, new)


def build_gateway(
    settings: Settings | None = None,
    *,
    registry: ModelPolicyRegistry | None = None,
    providers: Any = None,
    signals: InMemorySignals | None = None,
) -> LLMGateway:
    """A gateway with its registry, selector, providers, breakers and tracer."""
    settings = settings or get_settings()
    register_secrets(settings.secret_values())
    install_log_redaction()
    registry = registry or ModelPolicyRegistry(settings.config_dir)
    signals = signals or InMemorySignals()
    if providers is None:
        from llm_gateway.providers.registry import ProviderRegistry

        providers = ProviderRegistry(registry.catalog, settings)
    gateway = LLMGateway(
        settings=settings,
        registry=registry,
        selector=ModelSelector(registry, signals),
        signals=signals,
        providers=providers,
        circuits=CircuitBreakers(CircuitConfig.from_settings(settings)),
        tracer=Tracer(
            sampling_rate=settings.GATEWAY_TRACE_SAMPLING_RATE,
            retention_hours=settings.GATEWAY_METRICS_RETENTION_HOURS,
            enabled=settings.ENABLE_MODEL_TRACING,
        ),
    )
    gateway.tracer.content_chars = settings.GATEWAY_TRACE_CONTENT_CHARS
    gateway.otel = build_otel_traces(settings)
    # Outside a serving process, the guide's readers report the record store's numbers.
    gateway.tracer.reader_url = settings.database_url
    gateway.selector.reader_url = settings.database_url
    return gateway


_gateway: LLMGateway | None = None


def get_llm_gateway() -> LLMGateway:
    """The process's gateway, built on first use from the environment."""
    global _gateway
    if _gateway is None:
        set_llm_gateway(build_gateway())
    assert _gateway is not None
    return _gateway


def set_llm_gateway(gateway: LLMGateway | None) -> None:
    """Install ``gateway`` as the process's; the guide's other accessors then return its parts."""
    global _gateway
    _gateway = gateway
    set_model_policy_registry(gateway.registry if gateway else None)
    set_model_selector(gateway.selector if gateway else None)
    set_tracer(gateway.tracer if gateway else None)
    set_live_flags(gateway.flags if gateway else None)
