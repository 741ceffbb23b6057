"""The ledger row of a request, from what the gateway holds when it settles: O(1), no I/O.

``model`` is the model that answered or, for a failed request, the last one tried (so error
rates per model can be read from the ledger); ``attempts`` counts the calls made (skipped
models not included); ``fallback_used`` is true when the answering model is not the selected
primary. A request refused before any model was chosen has ``status`` ``refused``.
"""

from __future__ import annotations

import time
from decimal import Decimal

from llm_gateway.cost import CostBreakdown
from llm_gateway.errors import GatewayError
from llm_gateway.exchange import Plan, Route
from llm_gateway.model_policy import ModelPolicy
from llm_gateway.providers.base import Usage
from llm_gateway.request_info import new_trace_id
from llm_gateway.storage.records import LedgerRow, utc_from_timestamp

_ZERO = Decimal(0)


def ledger_row(
    plan: Plan,
    policy: ModelPolicy | None,
    usage: Usage | None,
    cost: CostBreakdown,
    error: GatewayError | None,
    duration_ms: float,
    status: str | None,
) -> LedgerRow:
    route = plan.route
    selection = plan.selection
    attempts = [a for a in plan.attempts if not a.skipped]
    model = policy.logical_id if policy else (attempts[-1].model if attempts else None)
    provider = policy.provider if policy else (attempts[-1].provider if attempts else None)
    return LedgerRow(
        id=plan.request_id or new_trace_id(),
        at=utc_from_timestamp(time.time()),
        trace_id=plan.trace_id,
        node=route.node_label,
        caller_node=route.caller_node,
        client_key_id=route.api_key_id,
        user_id=route.user_id[:128] if route.user_id else None,
        arm=route.arm,
        strategy=selection.strategy.value,
        requested_model=route.requested_model[:128] if route.requested_model else None,
        model=model,
        provider=provider,
        attempts=len(attempts),
        fallback_used=policy is not None
        and policy.logical_id != selection.selected_model.logical_id,
        status=status or ("ok" if error is None else "error"),
        error_type=_error_kind(error) if error is not None else None,
        input_tokens=usage.prompt_tokens if usage else 0,
        output_tokens=usage.completion_tokens if usage else 0,
        cached_tokens=usage.cached_prompt_tokens if usage else 0,
        reasoning_tokens=usage.reasoning_tokens if usage else 0,
        cost_usd=cost.total,
        cost_source=cost.source,
        latency_ms=round(duration_ms, 3),
        ttft_ms=round(plan.ttft_ms, 3) if plan.ttft_ms is not None else None,
        stream=plan.stream,
        capabilities=",".join(sorted(plan.requirements.hard_capabilities)) or None,
        cache_hit=plan.cache_saved is not None,
        saved_usd=plan.cache_saved,
    )


def refused_row(
    route: Route, error: GatewayError, *, stream: bool, started_at: float, trace_id: str | None
) -> LedgerRow:
    """A request refused before a plan existed (no eligible model, unknown model, admission)."""
    return LedgerRow(
        id=new_trace_id(),
        at=utc_from_timestamp(time.time()),
        trace_id=trace_id or route.trace_id or new_trace_id(),
        node=route.node_label,
        caller_node=route.caller_node,
        client_key_id=route.api_key_id,
        user_id=route.user_id[:128] if route.user_id else None,
        arm=route.arm,
        strategy=route.strategy.value if route.strategy else None,
        requested_model=route.requested_model[:128] if route.requested_model else None,
        status="refused",
        error_type=_error_kind(error),
        cost_usd=_ZERO,
        cost_source="none",
        latency_ms=round((time.monotonic() - started_at) * 1000, 3),
        stream=stream,
    )


def _error_kind(error: GatewayError) -> str:
    code = getattr(error, "code", None)
    return str(code or error.error_type)[:64]
