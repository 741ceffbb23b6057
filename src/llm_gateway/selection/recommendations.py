"""Recommendations for one node: every eligible model ranked, with its estimated cost per 1,000
requests and the performance data (observed when there is enough of it, else declared) behind
the ranking. Pure: (catalogue, signals snapshot, node) → plain dict."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from llm_gateway.config.catalog import Catalog
from llm_gateway.model_policy import ModelPolicy, NodeRequirements
from llm_gateway.selection.choose import (
    DEFAULT_INPUT_TOKENS,
    DEFAULT_OUTPUT_TOKENS,
    CandidatePool,
    available_first,
    choose_strategy,
    partition,
)
from llm_gateway.selection.constraints import merge_requirements
from llm_gateway.selection.context import SelectionContext
from llm_gateway.selection.scoring import ScoreBreakdown, SelectionStrategy, rank, score_models
from llm_gateway.selection.signals import SignalsSnapshot

_CENTS = Decimal("0.0001")


def recommendations(catalog: Catalog, signals: SignalsSnapshot, node_name: str) -> dict[str, Any]:
    """The node's options, best first under its default strategy, assuming requests of
    DEFAULT_INPUT_TOKENS in and DEFAULT_OUTPUT_TOKENS out.

    Keys: ``node_name``, ``strategy``, ``assumed_tokens``, ``requirements``, ``current_override``,
    ``recommended``, ``by_strategy`` (the pick of each strategy), ``options``, ``rejected`` and
    ``performance_data`` (per eligible model: latency, error rate, samples, source).
    """
    context = SelectionContext(node_name=node_name)
    needs = merge_requirements(catalog, context)
    strategy = choose_strategy(needs, None)
    pool = partition(catalog.policies.values(), needs, signals, 0)
    scores = score_models(
        pool.eligible,
        strategy,
        preferred=needs.preferred_capabilities,
        input_tokens=DEFAULT_INPUT_TOKENS,
        output_tokens=DEFAULT_OUTPUT_TOKENS,
        stats=signals.stats,
    )
    ranked = available_first(rank(scores, strategy), pool.demoted)
    options = [
        _option(catalog.policies[lid], scores[lid], lid not in pool.demoted) for lid in ranked
    ]
    override = signals.overrides.get(node_name)
    return {
        "node_name": node_name,
        "strategy": strategy.value,
        "assumed_tokens": {"input": DEFAULT_INPUT_TOKENS, "output": DEFAULT_OUTPUT_TOKENS},
        "requirements": {
            "required_capabilities": sorted(needs.hard_capabilities),
            "preferred_capabilities": sorted(needs.preferred_capabilities),
            "min_context_window": needs.min_context_window,
            "max_cost_tier": needs.max_cost_tier.value,
        },
        "current_override": override.model_id if override else None,
        "recommended": options[0]["model"] if options else None,
        "by_strategy": _picks(pool, needs, signals),
        "options": options,
        "rejected": {lid: list(why) for lid, why in pool.rejected.items()},
        "performance_data": {
            p.logical_id: _performance(p, scores[p.logical_id], signals) for p in pool.eligible
        },
    }


def _option(policy: ModelPolicy, score: ScoreBreakdown, available: bool) -> dict[str, Any]:
    return {
        "model": policy.logical_id,
        "provider_model_id": policy.provider_model_id,
        "cost_tier": policy.cost_tier.value,
        "score": round(score.total, 4),
        "estimated_cost_per_1k_requests_usd": str((score.expected_cost * 1000).quantize(_CENTS)),
        "latency_ms": round(score.latency_ms, 1),
        "latency_source": "observed" if score.observed else "declared",
        "available": available,
    }


def _performance(
    policy: ModelPolicy, score: ScoreBreakdown, signals: SignalsSnapshot
) -> dict[str, Any]:
    stats = signals.stats.get(policy.logical_id)
    return {
        "source": "observed" if stats is not None else "declared",
        "latency_ms": round(score.latency_ms, 1),
        "error_rate": round(stats.error_rate, 4) if stats is not None else None,
        "samples": stats.samples if stats is not None else 0,
        "circuit_open": policy.logical_id in signals.unavailable,
    }


def _picks(
    pool: CandidatePool, needs: NodeRequirements, signals: SignalsSnapshot
) -> dict[str, str | None]:
    """What each strategy's scoring alone would pick (overrides and pins left aside)."""
    picks: dict[str, str | None] = {}
    for strategy in SelectionStrategy:
        scores = score_models(
            pool.eligible,
            strategy,
            preferred=needs.preferred_capabilities,
            input_tokens=DEFAULT_INPUT_TOKENS,
            output_tokens=DEFAULT_OUTPUT_TOKENS,
            stats=signals.stats,
        )
        ranked = available_first(rank(scores, strategy), pool.demoted)
        picks[strategy.value] = ranked[0] if ranked else None
    return picks
