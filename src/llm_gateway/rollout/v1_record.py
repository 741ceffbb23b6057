"""The ledger row and trace of a legacy (v1) request, so v1 and v2 are compared from records.

v1 stays what it was — the named model, direct, no selection or fallback — but each request
now leaves the same evidence a gateway request does: a ledger row (``arm`` ``v1``, the node of
its purpose, the exact model, its cost, status and latency) through the gateway's record writer,
and a trace through its tracer (sampled alike; failures always kept).

A shim in another process than its gateway (``GATEWAY_URL`` set) hands the row to a
:class:`~llm_gateway.rollout.v1_reporter.V1Reporter` instead, which reports it to that gateway
in the background (the gateway then writes the ledger row and the trace): the served gateway's
records hold every v1 call, wherever it was made.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from llm_gateway.cost import ZERO_COST, CostBreakdown, compute_cost
from llm_gateway.errors import GatewayError
from llm_gateway.model_policy import ModelPolicy
from llm_gateway.providers.base import Usage
from llm_gateway.request_info import new_trace_id
from llm_gateway.storage.records import LedgerRow, utc_from_timestamp

if TYPE_CHECKING:
    from llm_gateway.gateway import LLMGateway
    from llm_gateway.rollout.v1_reporter import V1Reporter


@dataclass(frozen=True, slots=True)
class V1Call:
    """What one v1 request did, as it ended."""

    node: str
    policy: ModelPolicy
    trace_id: str
    user: str | None
    usage: Usage | None
    cost: CostBreakdown
    status: str
    error_type: str | None
    duration_ms: float
    ttft_ms: float | None
    stream: bool

    def row(self, node_label: str) -> LedgerRow:
        usage = self.usage
        return LedgerRow(
            id=new_trace_id(),
            at=utc_from_timestamp(time.time()),
            trace_id=self.trace_id,
            node=node_label,
            user_id=self.user[:128] if self.user else None,
            arm="v1",
            requested_model=self.policy.logical_id,
            model=self.policy.logical_id,
            provider=self.policy.provider,
            attempts=1,
            status=self.status,
            error_type=self.error_type,
            input_tokens=usage.prompt_tokens if usage else 0,
            output_tokens=usage.completion_tokens if usage else 0,
            cached_tokens=usage.cached_prompt_tokens if usage else 0,
            reasoning_tokens=usage.reasoning_tokens if usage else 0,
            cost_usd=self.cost.total,
            cost_source=self.cost.source,
            latency_ms=round(self.duration_ms, 3),
            ttft_ms=round(self.ttft_ms, 3) if self.ttft_ms is not None else None,
            stream=self.stream,
        )


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
    ttft_ms: float | None = None,
    reporter: V1Reporter | None = None,
) -> CostBreakdown:
    """Write the request's ledger row and trace — or, given a ``reporter``, hand the row to it
    for its remote gateway (O(1), no I/O); return the request's cost (zero for a failure)."""
    cost = compute_cost(usage, policy) if error is None else ZERO_COST
    call = V1Call(
        node=node,
        policy=policy,
        trace_id=trace_id,
        user=user,
        usage=usage,
        cost=cost,
        status=status or ("ok" if error is None else "error"),
        error_type=_error_kind(error) if error is not None else None,
        duration_ms=(time.monotonic() - started_at) * 1000,
        ttft_ms=ttft_ms,
        stream=stream,
    )
    if reporter is not None:  # the remote gateway labels the node with its own catalogue
        reporter.offer(call.row(node), node=node)
        return cost
    label = gateway.registry.catalog.node_label(node)
    write_v1(gateway, call, label, call.row(label))
    return cost


def write_v1(
    gateway: LLMGateway, call: V1Call, label: str, row: LedgerRow, *, reported: bool = False
) -> None:
    """The v1 request's trace (sampled like any; failures kept) and its ledger row, under one
    request id. ``reported``: it came from a remote legacy client (POST /v1/rollout/records)."""
    extra = {"reported": True} if reported else {}
    gateway.tracer.record(
        trace_id=call.trace_id,
        duration_ms=call.duration_ms,
        ok=call.status != "error",
        model=call.policy.logical_id,
        node=label,
        cost=call.cost.total,
        detail=lambda: {**v1_trace(call, label, row.id), **extra},
    )
    if gateway.records is not None:
        gateway._write_row(row)


def v1_trace(call: V1Call, node_label: str, request_id: str) -> dict[str, Any]:
    """The trace of a v1 request (the tracer renders and samples it)."""
    policy = call.policy
    return {
        "trace_id": call.trace_id,
        "request_id": request_id,
        "ok": call.status == "ok",
        "status": call.status,
        "node_name": node_label,
        "arm": "v1",
        "requested_model": policy.logical_id,
        "selected_model": policy.logical_id,
        "model": policy.logical_id,
        "provider": policy.provider,
        "provider_model_id": policy.provider_model_id,
        "duration_ms": round(call.duration_ms, 3),
        "ttft_ms": round(call.ttft_ms, 3) if call.ttft_ms is not None else None,
        "usage": call.usage,
        "cost": call.cost,
        "error": call.error_type,
    }


def _error_kind(error: BaseException) -> str:
    if isinstance(error, GatewayError):
        return str(getattr(error, "code", None) or error.error_type)[:64]
    return type(error).__name__[:64]
