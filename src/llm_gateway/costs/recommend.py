"""``GET /recommendations/{node}``'s evidence: every eligible model ranked on the node's last 30
days — its strategy's score with the node's observed request size (average tokens from the
ledger) and each model's observed error rate and latency (from the ledger), beside what those
30 days would have cost on it."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from llm_gateway.config.catalog import Catalog
from llm_gateway.costs.ledger_sums import LedgerGroup, TokenSums
from llm_gateway.costs.pricing import cost_of, pct, usd
from llm_gateway.costs.report import eligible_models
from llm_gateway.model_selector import SelectionContext, merge_requirements
from llm_gateway.selection.choose import choose_strategy
from llm_gateway.selection.scoring import rank, score_models
from llm_gateway.selection.signals import ModelStats

RANKING_DAYS = 30


def observed_stats(groups: Sequence[LedgerGroup]) -> dict[str, ModelStats]:
    """Per answering model, over every node: mean latency of successes and error rate."""
    seen: dict[str, list[float]] = {}
    for g in groups:
        if g.model is None:
            continue
        acc = seen.setdefault(g.model, [0, 0, 0.0])
        acc[0] += g.requests
        acc[1] += g.errors
        acc[2] += g.ok_latency_ms_sum
    return {
        model: ModelStats(
            latency_ms=lat / (n - e) if n > e else 0.0,
            error_rate=e / n,
            samples=int(n),
            successes=int(n - e),
        )
        for model, (n, e, lat) in seen.items()
        if n
    }


def ranked_candidates(
    node: str, groups: Sequence[LedgerGroup], catalog: Catalog, disabled: frozenset[str]
) -> dict[str, Any]:
    """The node's eligible models, best first, with the evidence the ranking used."""
    mine = [g for g in groups if g.node == node]
    requests = sum(g.requests for g in mine)
    if not requests:
        return {
            "days": RANKING_DAYS,
            "status": "no_data",
            "message": f"no requests for '{node}' in the last {RANKING_DAYS} days: the ranking "
            "above uses assumed request sizes and declared performance",
        }
    tokens = TokenSums()
    for g in mine:
        tokens += g.tokens
    actual = sum((g.cost for g in mine), Decimal(0))
    needs = merge_requirements(catalog, SelectionContext(node_name=node))
    strategy = choose_strategy(needs, None)
    eligible = eligible_models(catalog, node, disabled)
    stats = observed_stats(groups)
    avg_in, avg_out = round(tokens.input / requests), round(tokens.output / requests)
    scores = score_models(
        eligible,
        strategy,
        preferred=needs.preferred_capabilities,
        input_tokens=avg_in,
        output_tokens=avg_out,
        stats=stats,
    )
    policies = catalog.policies
    ranked = []
    for lid in rank(scores, strategy):
        cost = cost_of(tokens, policies[lid])
        seen = stats.get(lid)
        ranked.append(
            {
                "model": lid,
                "score": round(scores[lid].total, 4),
                "cost_usd": usd(cost),
                "savings_usd": usd(actual - cost),
                "savings_pct": pct(actual - cost, actual),
                "declared_quality": round(policies[lid].effective_quality, 3),
                "error_rate": round(seen.error_rate, 4) if seen else None,
                "latency_ms": round(scores[lid].latency_ms, 1),
                "latency_source": "observed" if scores[lid].observed else "declared",
                "samples": seen.samples if seen else 0,
            }
        )
    return {
        "days": RANKING_DAYS,
        "status": "ok",
        "strategy": strategy.value,
        "requests": requests,
        "avg_tokens": {"input": avg_in, "output": avg_out},
        "actual_cost_usd": usd(actual),
        "ranked": ranked,
        "recommended": ranked[0]["model"] if ranked else None,
    }
