"""The cost-savings report, from the ledger: per node, what each eligible cheaper model would
have cost for the same tokens, the projected monthly savings, the evidence behind each
candidate and the savings already realised against the v1 baseline.

:func:`build_cost_report` is pure (ledger groups, catalogue, disabled models and the time in;
a plain dict out), so the admin API, the CLI and the tests get the same numbers. Money is exact
``Decimal`` until it is formatted. "The same tokens" is the honest limit of the counterfactual:
another model tokenizes differently and writes answers of another length; the quality, latency
and error-rate evidence stands beside each figure for that reason.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from llm_gateway.config.catalog import Catalog
from llm_gateway.costs.baseline import baseline_for
from llm_gateway.costs.evidence import shadow_evidence
from llm_gateway.costs.ledger_sums import LedgerGroup, TokenSums
from llm_gateway.costs.pricing import cost_of, pct, usd
from llm_gateway.errors import GatewayError
from llm_gateway.model_policy import ModelPolicy
from llm_gateway.model_selector import (
    SelectionContext,
    hard_constraint_failures,
    merge_requirements,
)

MONTH_DAYS = Decimal(30)
TARGET_PCT = (15, 30)  # the guide's Business Success: "15-30% reduction in AI model costs"
SHORT_HISTORY_DAYS = 7
_DAY_S = Decimal(86400)
_MIN_COVERED_DAYS = Decimal(1) / Decimal(24)

BASIS = (
    "ledger: every request's recorded tokens and exact cost in the window (shadow requests "
    "excluded); candidates priced at list prices for the same tokens"
)
CAVEAT = (
    "A candidate's cost is for the same token counts: another model tokenizes differently and "
    "answers at another length. Weigh each against its quality, latency and error-rate evidence."
)


def disabled_report() -> dict[str, Any]:
    """What the endpoints answer with ENABLE_COST_OPTIMIZATION off."""
    return {
        "enabled": False,
        "status": "disabled",
        "message": "cost optimization is disabled (ENABLE_COST_OPTIMIZATION=false): no savings "
        "report is computed",
    }


def _sum_tokens(groups: Iterable[LedgerGroup]) -> TokenSums:
    total = TokenSums()
    for group in groups:
        total += group.tokens
    return total


def _observed(groups: Sequence[LedgerGroup]) -> dict[str, Any] | None:
    requests = sum(g.requests for g in groups)
    if not requests:
        return None
    errors = sum(g.errors for g in groups)
    ok = requests - errors
    latency = sum(g.ok_latency_ms_sum for g in groups)
    return {
        "requests": requests,
        "errors": errors,
        "error_rate": round(errors / requests, 4),
        "avg_latency_ms": round(latency / ok, 1) if ok else None,
    }


def eligible_models(catalog: Catalog, node: str, disabled: frozenset[str]) -> list[ModelPolicy]:
    """The models that meet ``node``'s hard requirements and are not disabled by an admin."""
    needs = merge_requirements(catalog, SelectionContext(node_name=node))
    return [
        p
        for p in catalog.policies.values()
        if not hard_constraint_failures(p, needs) and p.logical_id not in disabled
    ]


def _candidate(
    policy: ModelPolicy,
    tokens: TokenSums,
    actual: Decimal,
    scale: Decimal,
    node_groups: Sequence[LedgerGroup],
    all_groups: Sequence[LedgerGroup],
) -> dict[str, Any]:
    cost = cost_of(tokens, policy)
    savings = actual - cost
    on_node = _observed([g for g in node_groups if g.model == policy.logical_id])
    anywhere = on_node or _observed([g for g in all_groups if g.model == policy.logical_id])
    return {
        "model": policy.logical_id,
        "cost_tier": policy.cost_tier.value,
        "cost_usd": usd(cost),
        "savings_usd": usd(savings),
        "savings_pct": pct(savings, actual),
        "projected_monthly_savings_usd": usd(savings * scale),
        "evidence": {
            "declared_quality": round(policy.effective_quality, 3),
            "observed": {**anywhere, "scope": "this node" if on_node else "all nodes"}
            if anywhere
            else None,
        },
        "_cost": cost,
    }


def _realised(node: str, groups: Sequence[LedgerGroup], catalog: Catalog) -> dict[str, Any]:
    """Against the v1 baseline: its cost for the same tokens minus the actual cost, over the
    requests the gateway served (rows of arm v1 went to the baseline model itself)."""
    baseline = baseline_for(node)
    if baseline is None:
        return {"baseline_model": None, "message": f"no v1 baseline is defined for '{node}'"}
    policy = catalog.policies.get(baseline.model)
    if policy is None:
        return {
            "baseline_model": baseline.model,
            "message": f"the v1 model '{baseline.model}' is not in model_policies.yaml",
        }
    served = [g for g in groups if g.arm != "v1"]
    actual = sum((g.cost for g in served), Decimal(0))
    base_cost = cost_of(_sum_tokens(served), policy)
    return {
        "baseline_model": baseline.model,
        "baseline_source": baseline.source,
        "requests": sum(g.requests for g in served),
        "baseline_cost_usd": usd(base_cost),
        "actual_cost_usd": usd(actual),
        "savings_usd": usd(base_cost - actual),
        "savings_pct": pct(base_cost - actual, base_cost),
        "_baseline": base_cost,
        "_actual": actual,
    }


def _node_entry(
    node: str,
    groups: Sequence[LedgerGroup],
    all_groups: Sequence[LedgerGroup],
    catalog: Catalog,
    disabled: frozenset[str],
    scale: Decimal,
    current_model: str | None,
    shadow: Mapping[str, dict[str, Any]] | None,
) -> dict[str, Any]:
    tokens = _sum_tokens(groups)
    actual = sum((g.cost for g in groups), Decimal(0))
    requests = sum(g.requests for g in groups)
    models: dict[str, int] = defaultdict(int)
    for g in groups:
        models[g.model or "(none)"] += g.requests
    entry: dict[str, Any] = {
        "node": node,
        "current_model": current_model,
        "requests": requests,
        "observed": _observed(groups),
        "models": dict(sorted(models.items(), key=lambda kv: (-kv[1], kv[0]))),
        "tokens": {
            "input": tokens.input,
            "cached_input": tokens.cached_input,
            "output": tokens.output,
            "reasoning": tokens.reasoning,
        },
        "actual_cost_usd": usd(actual),
        "shadow_comparisons": shadow_evidence(node, shadow),
        "realised_vs_v1": _realised(node, groups, catalog),
    }
    try:
        eligible = eligible_models(catalog, node, disabled)
    except GatewayError as exc:
        entry.update(candidates=[], error=exc.message, _best=Decimal(0))
        return entry
    candidates = [_candidate(p, tokens, actual, scale, groups, all_groups) for p in eligible]
    cheaper = sorted(
        (c for c in candidates if c["_cost"] < actual), key=lambda c: (c["_cost"], c["model"])
    )
    best = actual - cheaper[0]["_cost"] if cheaper else Decimal(0)
    entry.update(
        eligible_models=len(eligible),
        candidates=[{k: v for k, v in c.items() if not k.startswith("_")} for c in cheaper],
        best_candidate=cheaper[0]["model"] if cheaper else None,
        potential_savings_usd=usd(best),
        potential_savings_pct=pct(best, actual),
        projected_monthly_savings_usd=usd(best * scale),
        _best=best,
    )
    return entry


def covered_days(start: datetime, now: datetime, groups: Sequence[LedgerGroup]) -> Decimal:
    """Days from the window's start, or its first request if later, to ``now`` (at least an
    hour, so a first minute of traffic is not multiplied into a month)."""
    firsts = [g.first_at for g in groups if g.first_at is not None]
    begin = max(start, min(firsts)) if firsts else start
    seconds = Decimal(str((now - begin).total_seconds()))
    return max(seconds / _DAY_S, _MIN_COVERED_DAYS)


def build_cost_report(
    groups: Sequence[LedgerGroup],
    catalog: Catalog,
    *,
    days: float,
    now: datetime,
    disabled: frozenset[str] = frozenset(),
    current_models: dict[str, str] | None = None,
    shadow: Mapping[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The report over the ``days`` before ``now`` from the ledger ``groups`` of that window."""
    start = now - timedelta(days=days)
    window = {"days": days, "start": start.isoformat(), "end": now.isoformat()}
    if not groups:
        return {
            "enabled": True,
            "status": "no_data",
            "message": f"the ledger has no requests in the last {days:g} days: there is nothing "
            "to compute savings from yet",
            "window": window,
            "basis": BASIS,
            "nodes": [],
        }
    covered = covered_days(start, now, groups)
    scale = MONTH_DAYS / covered
    by_node: dict[str, list[LedgerGroup]] = defaultdict(list)
    for g in groups:
        by_node[g.node].append(g)
    current = current_models or {}
    nodes = [
        _node_entry(n, by_node[n], groups, catalog, disabled, scale, current.get(n), shadow)
        for n in sorted(by_node)
    ]
    actual = sum((g.cost for g in groups), Decimal(0))
    potential = sum((n.pop("_best") for n in nodes), Decimal(0))
    window.update(covered_days=float(round(covered, 4)))
    report = {
        "enabled": True,
        "status": "ok",
        "window": window,
        "basis": BASIS,
        "note": CAVEAT,
        "projection": f"monthly = window figure x 30 / {float(round(covered, 4))} covered days",
        "totals": {
            "requests": sum(g.requests for g in groups),
            "actual_cost_usd": usd(actual),
            "potential_savings_usd": usd(potential),
            "potential_savings_pct": pct(potential, actual),
            "projected_monthly_savings_usd": usd(potential * scale),
            "projected_monthly_cost_usd": usd(actual * scale),
            "realised_vs_v1": _realised_totals(nodes),
        },
        "nodes": nodes,
    }
    if covered < SHORT_HISTORY_DAYS:
        report["warning"] = (
            f"projections rest on {float(round(covered, 2))} days of data (under "
            f"{SHORT_HISTORY_DAYS}): read them as indicative"
        )
    return report


def _realised_totals(nodes: list[dict[str, Any]]) -> dict[str, Any]:
    base = actual = Decimal(0)
    covered: list[str] = []
    for entry in nodes:
        realised = entry["realised_vs_v1"]
        if "_baseline" in realised:
            base += realised.pop("_baseline")
            actual += realised.pop("_actual")
            covered.append(entry["node"])
    saving_pct = pct(base - actual, base)
    return {
        "nodes": covered,
        "baseline_cost_usd": usd(base),
        "actual_cost_usd": usd(actual),
        "savings_usd": usd(base - actual),
        "savings_pct": saving_pct,
        "target_pct": list(TARGET_PCT),
        "meets_target": saving_pct is not None and saving_pct >= TARGET_PCT[0],
    }
