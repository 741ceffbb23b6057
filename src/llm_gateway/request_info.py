"""Reading a caller's request: the strategy it names, the capabilities it implies, its trace id,
and the trace record kept for it. Pure helpers of the gateway core."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llm_gateway.cost import CostBreakdown
from llm_gateway.errors import GatewayError, InvalidRequest, echo
from llm_gateway.exchange import AttemptRecord, Plan
from llm_gateway.middleware.trace_context import new_id
from llm_gateway.model_policy import Capability, ModelPolicy
from llm_gateway.providers.base import Usage
from llm_gateway.selection.scoring import SelectionStrategy


def new_trace_id() -> str:
    """32 hex digits (W3C trace-id size), time-ordered (:func:`~llm_gateway.middleware.
    trace_context.new_id`): unique, not secret, ~20x cheaper than uuid4 on the hot path."""
    return new_id()


def parse_strategy(value: str | None) -> SelectionStrategy | None:
    if value is None or value == "":
        return None
    try:
        return SelectionStrategy(value.lower())
    except ValueError:
        known = ", ".join(s.value for s in SelectionStrategy)
        raise InvalidRequest(
            f"unknown strategy '{echo(value)}' (known: {known})", param="strategy"
        ) from None


def implied_capabilities(
    request: Mapping[str, Any], stream: bool, extra: tuple[str, ...]
) -> tuple[str, ...]:
    caps = list(extra)
    if stream:
        caps.append(Capability.STREAMING)
    if request.get("tools") or request.get("functions"):
        caps.append(Capability.FUNCTION_CALLING)
    return tuple(caps)


def trace_detail(
    plan: Plan,
    policy: ModelPolicy | None,
    usage: Usage | None,
    cost: CostBreakdown,
    error: GatewayError | None,
    duration_ms: float,
    status: str | None = None,
) -> dict[str, Any]:
    """The sampled trace, holding plain references; the tracer renders them only when read."""
    selection = plan.selection
    return {
        "trace_id": plan.trace_id,
        "request_id": plan.request_id,
        "ok": error is None,
        "status": status or ("ok" if error is None else "error"),
        "node_name": plan.route.node_name,
        "caller_node": plan.route.caller_node,
        "arm": plan.route.arm,
        "strategy": selection.strategy.value,
        "stream": plan.stream,
        "requested_model": plan.route.requested_model,
        "selected_model": selection.selected_model.logical_id,
        "selection_source": selection.source,
        "fallback_chain": selection.fallback_chain,
        "selection_reasons": selection.reasons,
        "rejected": {model: list(why) for model, why in selection.rejected.items()},
        "model": policy.logical_id if policy else None,
        "provider": policy.provider if policy else None,
        "provider_model_id": policy.provider_model_id if policy else None,
        "attempts": [_attempt(a, plan.started_at) for a in plan.attempts],
        "duration_ms": round(duration_ms, 3),
        "estimated_input_tokens": plan.input_tokens,
        "usage": usage,
        "cost": cost,
        "error": error,
        "user_id": plan.route.user_id,
        "api_key_id": plan.route.api_key_id,
        # References only; the tracer keeps them (capped) only when told to keep content.
        CONTENT_KEYS[0]: plan.request.get("messages"),
        CONTENT_KEYS[1]: plan.answer_text,
    }


CONTENT_KEYS = ("_prompt_messages", "_answer_text")


def _attempt(attempt: AttemptRecord, request_started_at: float) -> dict[str, Any]:
    """The attempt with ``start_ms``: when it began, in ms from the request's start (both are
    readings of the monotonic clock), for a timeline."""
    out = attempt.as_dict()
    out["start_ms"] = round(max(0.0, attempt.started_at - request_started_at) * 1000, 3)
    return out
