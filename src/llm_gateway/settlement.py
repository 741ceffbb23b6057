"""How a request ends, whatever its path (complete, stream, cache hit): cost settled (the rate
limiter's tokens and the admission hooks' reservations), then metrics, OpenTelemetry, the trace
and the ledger row."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from llm_gateway.cost import ZERO_COST, CostBreakdown, compute_cost
from llm_gateway.errors import GatewayError
from llm_gateway.exchange import Plan
from llm_gateway.ledger_rows import ledger_row
from llm_gateway.model_policy import ModelPolicy
from llm_gateway.providers.base import Usage
from llm_gateway.request_info import trace_detail
from llm_gateway.storage.records import LedgerRow

if TYPE_CHECKING:
    from llm_gateway.gateway import LLMGateway
    from llm_gateway.streaming import GatewayStream

logger = logging.getLogger("llm_gateway.gateway")


async def settle_and_record(
    gateway: LLMGateway,
    plan: Plan,
    policy: ModelPolicy | None,
    usage: Usage | None,
    error: GatewayError | None,
    *,
    cost: CostBreakdown | None = None,
    stream: GatewayStream | None = None,
) -> CostBreakdown:
    """See :meth:`LLMGateway.finish`."""
    if error is not None and plan.attempts:
        log_upstream_failure(plan, error)
    if policy is not None and (cost is None or cost is ZERO_COST):
        cost = compute_cost(usage, policy)
    if stream is not None and cost is not None:
        cost = stream.settled_cost(cost)
        stream.cost = cost
    final = cost or ZERO_COST
    ok = error is None
    status = "cancelled" if stream is not None and stream.cancelled else None
    if gateway.limits is not None:
        gateway.limits.settle_usage(plan, policy, usage)
    if plan.cache_saved is None:  # a cache hit was never admitted: nothing to settle
        for hook in gateway.admission:
            await hook.settle(plan, final, ok)
    duration_ms = (time.monotonic() - plan.started_at) * 1000
    gateway.metrics.observe(
        plan,
        policy,
        usage,
        final,
        error,
        duration_ms / 1000,
        gateway.overhead_ms(plan) / 1000,
        status=status,
    )
    if gateway.otel is not None:
        gateway.otel.record(plan, policy, usage, final, error, status or ("ok" if ok else "error"))
    notable = len(plan.attempts) > 1 or (
        policy is not None and policy is not plan.selection.selected_model
    )
    waiting = _trace_and_queue(
        gateway, plan, policy, usage, final, error, duration_ms, status, notable
    )
    if waiting is not None and gateway.records is not None:
        await gateway.records.writer.put(waiting)  # back-pressure: never dropped
    return final


async def record_refusal(gateway: LLMGateway, plan: Plan, error: GatewayError) -> None:
    """A planned request an admission hook refused (a budget, a rate limit): nothing was
    called nor billed. Its trace (a failure: always kept, status ``refused``, the selection it
    had) and its ledger row."""
    duration_ms = (time.monotonic() - plan.started_at) * 1000
    waiting = _trace_and_queue(gateway, plan, None, None, ZERO_COST, error, duration_ms, "refused")
    if waiting is not None and gateway.records is not None:
        await gateway.records.writer.put(waiting)  # back-pressure: never dropped


def _trace_and_queue(
    gateway: LLMGateway,
    plan: Plan,
    policy: ModelPolicy | None,
    usage: Usage | None,
    cost: CostBreakdown,
    error: GatewayError | None,
    duration_ms: float,
    status: str | None,
    notable: bool = False,
) -> LedgerRow | None:
    """The request's trace (sampled; failures and ``notable`` ones always kept) and its ledger
    row, queued at once when there is room; past the queue's bound the row is returned, for the
    caller to await room for it. No await here: the hot path pays no extra coroutine."""
    gateway.tracer.record(
        trace_id=plan.trace_id,
        duration_ms=duration_ms,
        ok=error is None,
        model=policy.logical_id if policy else None,
        node=plan.route.node_label,
        cost=cost.total,
        capabilities=tuple(sorted(plan.requirements.hard_capabilities)),
        detail=lambda: trace_detail(plan, policy, usage, cost, error, duration_ms, status),
        notable=notable,
    )
    if gateway.records is not None:
        row = ledger_row(plan, policy, usage, cost, error, duration_ms, status)
        if not gateway.records.writer.offer(row):
            return row
    return None


def finish_reason_of(body: Mapping[str, Any]) -> str | None:
    choices = body.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        reason = choices[0].get("finish_reason")
        return reason if isinstance(reason, str) else None
    return None


def answer_text_of(body: Mapping[str, Any]) -> str | None:
    choices = body.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        message = choices[0].get("message")
        if isinstance(message, dict) and isinstance(message.get("content"), str):
            return str(message["content"])
    return None


def log_upstream_failure(plan: Plan, error: GatewayError) -> None:
    """A request the upstreams failed: one WARNING line for the whole request, naming each
    attempt (retries and fallbacks included) — never one line per retry."""
    tried = [a for a in plan.attempts if not a.skipped]
    if not tried:
        return
    summary = ", ".join(
        f"{a.model} {a.upstream_status or a.error_type or 'error'}" for a in tried[-6:]
    )
    logger.warning(
        "request %s failed after %d attempt(s) [%s]: %s",
        plan.request_id or plan.trace_id,
        len(tried),
        summary,
        getattr(error, "message", str(error))[:300],
    )
