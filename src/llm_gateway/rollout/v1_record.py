"""The ledger row and trace of a legacy (v1) request, so v1 and v2 are compared from records.

v1 stays what it was — the named model, direct, no selection or fallback — but each request
now leaves the same evidence a gateway request does: a ledger row (``arm`` ``v1``, the node of
its purpose, the exact model, its cost, status and latency) through the gateway's record writer,
and a trace through its tracer (sampled alike; failures always kept).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from llm_gateway.cost import ZERO_COST, CostBreakdown, compute_cost
from llm_gateway.errors import GatewayError
from llm_gateway.model_policy import ModelPolicy
from llm_gateway.providers.base import Usage
from llm_gateway.request_info import new_trace_id
from llm_gateway.storage.records import LedgerRow, utc_from_timestamp

if TYPE_CHECKING:
    from llm_gateway.gateway import LLMGateway


def record_v1(
    gateway: LLMGateway,
    *,
    node: str,
    policy: ModelPolicy,
    trace_id: str,
    user: str | None,
    started_at: float,
    usage: Usage | None,
    error: BaseException | None,
    stream: bool,
    status: str | None = None,
) -> CostBreakdown:
    """Write the request's ledger row and trace; return its cost (zero for a failure)."""
    cost = compute_cost(usage, policy) if error is None else ZERO_COST
    duration_ms = (time.monotonic() - started_at) * 1000
    status = status or ("ok" if error is None else "error")
    error_type = _error_kind(error) if error is not None else None
    label = gateway.registry.catalog.node_label(node)
    gateway.tracer.record(
        trace_id=trace_id,
        duration_ms=duration_ms,
        ok=error is None,
        model=policy.logical_id,
        node=label,
        cost=cost.total,
        detail=lambda: _trace(
            label, policy, trace_id, usage, cost, status, error_type, duration_ms
        ),
    )
    if gateway.records is not None:
        gateway._write_row(
            LedgerRow(
                id=new_trace_id(),
                at=utc_from_timestamp(time.time()),
                trace_id=trace_id,
                node=label,
                user_id=user[:128] if user else None,
                arm="v1",
                requested_model=policy.logical_id,
                model=policy.logical_id,
                provider=policy.provider,
                attempts=1,
                status=status,
                error_type=error_type,
                input_tokens=usage.prompt_tokens if usage else 0,
                output_tokens=usage.completion_tokens if usage else 0,
                cached_tokens=usage.cached_prompt_tokens if usage else 0,
                reasoning_tokens=usage.reasoning_tokens if usage else 0,
                cost_usd=cost.total,
                cost_source=cost.source,
                latency_ms=round(duration_ms, 3),
                stream=stream,
            )
        )
    return cost


def _trace(
    node: str,
    policy: ModelPolicy,
    trace_id: str,
    usage: Usage | None,
    cost: CostBreakdown,
    status: str,
    error_type: str | None,
    duration_ms: float,
) -> dict[str, Any]:
    return {
        "trace_id": trace_id,
        "request_id": new_trace_id(),
        "ok": status == "ok",
        "status": status,
        "node_name": node,
        "arm": "v1",
        "requested_model": policy.logical_id,
        "selected_model": policy.logical_id,
        "model": policy.logical_id,
        "provider": policy.provider,
        "provider_model_id": policy.provider_model_id,
        "duration_ms": round(duration_ms, 3),
        "usage": usage,
        "cost": cost,
        "error": error_type,
    }


def _error_kind(error: BaseException) -> str:
    if isinstance(error, GatewayError):
        return str(getattr(error, "code", None) or error.error_type)[:64]
    return type(error).__name__[:64]
