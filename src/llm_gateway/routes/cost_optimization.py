"""Cost-optimisation opportunities per node: estimates, labelled as such.

For each node (configured, or seen in traffic) the report compares the model the node gets now
with the cheapest model that meets its hard requirements, at list prices, for a request of the
node's observed average size (from sampled traces) or, without traffic, an assumed size. With
traffic in the window it scales the difference by the node's request count. Quality is shown
beside the price: the cheapest model is an option to weigh, not a recommendation to follow
blindly.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from llm_gateway.errors import GatewayError
from llm_gateway.gateway import LLMGateway
from llm_gateway.model_policy import ModelPolicy
from llm_gateway.model_selector import (
    DEFAULT_INPUT_TOKENS,
    DEFAULT_OUTPUT_TOKENS,
    SelectionContext,
    hard_constraint_failures,
    merge_requirements,
)

_USD = Decimal("0.000001")
_TRACE_SCAN_LIMIT = 10_000

NOTE = (
    "Estimates at list prices. Request sizes are the node's average over sampled traces in the "
    "window when there is traffic, else the assumed size; savings ignore quality differences, "
    "shown beside them."
)


def usd(amount: Decimal) -> str:
    return str(amount.quantize(_USD))


def cost_optimization_report(gateway: LLMGateway, hours: float) -> dict[str, Any]:
    """The report over the last ``hours``; see the module docstring."""
    metrics = gateway.tracer.metrics(hours)
    requests: Mapping[str, int] = metrics.get("node_distribution", {})
    observed = _observed_by_node(gateway.tracer.list_traces(hours, _TRACE_SCAN_LIMIT))
    names = [n for n in gateway.registry.get_all_nodes() if not any(c in n for c in "*?[")]
    names += sorted(n for n in requests if n not in names)
    nodes = [
        _node_entry(gateway, name, requests.get(name, 0), observed.get(name)) for name in names
    ]
    savings = sum(
        (Decimal(n["estimated_savings_in_window_usd"]) for n in nodes if "error" not in n),
        Decimal(0),
    )
    return {
        "enabled": gateway.settings.ENABLE_COST_OPTIMIZATION,
        "window_hours": hours,
        "note": NOTE,
        "assumed_tokens": {"input": DEFAULT_INPUT_TOKENS, "output": DEFAULT_OUTPUT_TOKENS},
        "observed_spend_usd": usd(Decimal(str(metrics.get("total_cost", 0)))),
        "observed_requests": metrics.get("request_count", 0),
        "estimated_savings_in_window_usd": usd(savings),
        "opportunities": sum(1 for n in nodes if n.get("cheaper_model_available")),
        "nodes": nodes,
    }


def _node_entry(
    gateway: LLMGateway, node: str, requests: int, observed: dict[str, Any] | None
) -> dict[str, Any]:
    catalog = gateway.registry.catalog
    try:
        current = gateway.selector.select(SelectionContext(node_name=node))
        needs = merge_requirements(catalog, SelectionContext(node_name=node))
    except GatewayError as exc:
        return {"node": node, "error": exc.message, "estimated_savings_in_window_usd": "0"}
    disabled = gateway.signals.snapshot().disabled
    eligible = [
        p
        for p in catalog.policies.values()
        if not hard_constraint_failures(p, needs) and p.logical_id not in disabled
    ]
    tokens_in, tokens_out, basis = _tokens(observed)
    policy = current.selected_model
    cheapest = cheapest_policy(eligible or [policy], tokens_in, tokens_out)
    per_request_now = policy.expected_cost(tokens_in, tokens_out)
    per_request_min = cheapest.expected_cost(tokens_in, tokens_out)
    saving = max(Decimal(0), per_request_now - per_request_min)
    return {
        "node": node,
        "current_model": policy.logical_id,
        "current_source": current.source,
        "cheapest_eligible_model": cheapest.logical_id,
        "cheaper_model_available": saving > 0,
        "tokens_per_request": {"input": tokens_in, "output": tokens_out, "basis": basis},
        "estimated_cost_per_1k_requests_usd": {
            "current": usd(per_request_now * 1000),
            "cheapest": usd(per_request_min * 1000),
        },
        "estimated_savings_per_1k_requests_usd": usd(saving * 1000),
        "estimated_savings_pct": _pct(saving, per_request_now),
        "quality": {
            "current": round(policy.effective_quality, 3),
            "cheapest": round(cheapest.effective_quality, 3),
        },
        "observed": _observed_view(observed, requests),
        "estimated_savings_in_window_usd": usd(saving * requests),
    }


def _tokens(observed: dict[str, Any] | None) -> tuple[int, int, str]:
    if observed and observed["with_usage"]:
        n = observed["with_usage"]
        return round(observed["prompt"] / n), round(observed["completion"] / n), "observed"
    return DEFAULT_INPUT_TOKENS, DEFAULT_OUTPUT_TOKENS, "assumed"


def _pct(part: Decimal, whole: Decimal) -> float:
    return float(round(part / whole * 100, 1)) if whole > 0 else 0.0


def _observed_view(observed: dict[str, Any] | None, requests: int) -> dict[str, Any]:
    view: dict[str, Any] = {"requests": requests}
    if observed:
        view["sampled_traces"] = observed["traces"]
        view["sampled_spend_usd"] = usd(observed["spend"])
        view["models"] = dict(observed["models"])
    return view


def _observed_by_node(traces: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per node: sampled trace count, spend, token totals and models that answered."""
    out: dict[str, dict[str, Any]] = {}
    for trace in traces:
        node = str(trace.get("node_name") or "default")
        entry = out.setdefault(
            node,
            {
                "traces": 0,
                "spend": Decimal(0),
                "prompt": 0,
                "completion": 0,
                "with_usage": 0,
                "models": defaultdict(int),
            },
        )
        entry["traces"] += 1
        entry["spend"] += _amount((trace.get("cost") or {}).get("total"))
        usage = trace.get("usage")
        if isinstance(usage, Mapping):
            entry["prompt"] += int(usage.get("prompt_tokens") or 0)
            entry["completion"] += int(usage.get("completion_tokens") or 0)
            entry["with_usage"] += 1
        if trace.get("model"):
            entry["models"][str(trace["model"])] += 1
    return out


def _amount(value: Any) -> Decimal:
    try:
        return Decimal(str(value)) if value is not None else Decimal(0)
    except InvalidOperation:
        return Decimal(0)


def cheapest_policy(
    policies: Iterable[ModelPolicy], tokens_in: int, tokens_out: int
) -> ModelPolicy:
    """The cheapest of ``policies`` for a request of that size (ties: higher quality, then id)."""
    return min(
        policies,
        key=lambda p: (p.expected_cost(tokens_in, tokens_out), -p.effective_quality, p.logical_id),
    )
