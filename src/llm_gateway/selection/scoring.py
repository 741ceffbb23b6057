"""Scoring of eligible models under a strategy. Pure: plain values in, plain values out.

Each model gets components in 0..1 (higher is better): ``cost`` (cheapest eligible = 1),
``quality``, ``latency`` (fastest = 1; observed when there are enough samples, else declared),
``reliability`` (1 - observed error rate; 0.97 prior) and ``preferred`` (share of the node's
preferred capabilities it has). A strategy is a weighting of them.

Two strategies are lexicographic, because a weighting of min-max normalised components can let a
small difference in one component outweigh a large one in the strategy's own: ``COST_OPTIMIZED``
ranks by expected cost first, so it never prefers a more expensive model over a cheaper eligible
one; ``QUALITY_OPTIMIZED`` ranks by quality * reliability (to 3 decimals) first. Both use the
weighted score only to break ties.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from llm_gateway.model_policy import Capability, CostTier, ModelPolicy
from llm_gateway.selection.signals import ModelStats


class SelectionStrategy(StrEnum):
    BALANCED = "balanced"
    COST_OPTIMIZED = "cost_optimized"
    QUALITY_OPTIMIZED = "quality_optimized"
    LATENCY_OPTIMIZED = "latency_optimized"


WEIGHTS: Mapping[SelectionStrategy, Mapping[str, float]] = {
    SelectionStrategy.BALANCED: {
        "cost": 0.25,
        "quality": 0.30,
        "latency": 0.15,
        "reliability": 0.15,
        "preferred": 0.15,
    },
    SelectionStrategy.COST_OPTIMIZED: {
        "cost": 0.60,
        "quality": 0.10,
        "latency": 0.10,
        "reliability": 0.10,
        "preferred": 0.10,
    },
    SelectionStrategy.QUALITY_OPTIMIZED: {
        "cost": 0.05,
        "quality": 0.60,
        "latency": 0.05,
        "reliability": 0.15,
        "preferred": 0.15,
    },
    SelectionStrategy.LATENCY_OPTIMIZED: {
        "cost": 0.10,
        "quality": 0.10,
        "latency": 0.55,
        "reliability": 0.15,
        "preferred": 0.10,
    },
}

_TIER_LATENCY_MS = {
    CostTier.LOW: 400.0,
    CostTier.MEDIUM: 700.0,
    CostTier.HIGH: 1100.0,
    CostTier.PREMIUM: 1600.0,
}
_PRIOR_RELIABILITY = 0.97


@dataclass(frozen=True, slots=True)
class ScoreBreakdown:
    """The components of one model's score and the weighted total."""

    total: float
    cost: float
    quality: float
    latency: float
    reliability: float
    preferred: float
    expected_cost: Decimal
    latency_ms: float
    observed: bool

    def as_dict(self) -> dict[str, float | str | bool]:
        return {
            "total": round(self.total, 4),
            "cost": round(self.cost, 4),
            "quality": round(self.quality, 4),
            "latency": round(self.latency, 4),
            "reliability": round(self.reliability, 4),
            "preferred": round(self.preferred, 4),
            "expected_cost_usd": str(self.expected_cost),
            "latency_ms": round(self.latency_ms, 1),
            "observed": self.observed,
        }


def expected_latency_ms(policy: ModelPolicy, stats: ModelStats | None) -> tuple[float, bool]:
    """``(latency, observed)``: the observed smoothed latency when known, else the declared
    ``typical_latency_ms``, else the tier's typical latency."""
    if stats is not None and stats.has_latency:
        return stats.latency_ms, True
    if policy.typical_latency_ms is not None:
        return policy.typical_latency_ms, False
    return _TIER_LATENCY_MS[policy.cost_tier], False


def score_models(
    models: Sequence[ModelPolicy],
    strategy: SelectionStrategy,
    *,
    preferred: frozenset[Capability],
    input_tokens: int,
    output_tokens: int,
    stats: Mapping[str, ModelStats],
) -> dict[str, ScoreBreakdown]:
    """Score every model in ``models`` (all assumed eligible) under ``strategy``."""
    if not models:
        return {}
    costs = [m.expected_cost(input_tokens, output_tokens) for m in models]
    latencies = [expected_latency_ms(m, stats.get(m.logical_id)) for m in models]
    cost_floats = [float(c) for c in costs]
    lo_cost, hi_cost = min(cost_floats), max(cost_floats)
    lo_lat = min(lat for lat, _ in latencies)
    hi_lat = max(lat for lat, _ in latencies)
    w = WEIGHTS[strategy]
    w_cost, w_quality, w_latency = w["cost"], w["quality"], w["latency"]
    w_reliability, w_preferred = w["reliability"], w["preferred"]
    wanted = len(preferred)
    scores = {}
    for m, cost, cost_float, (latency_ms, observed) in zip(
        models, costs, cost_floats, latencies, strict=True
    ):
        seen = stats.get(m.logical_id)
        cost_part = _inverse_norm(cost_float, lo_cost, hi_cost)
        quality = m.effective_quality
        latency_part = _inverse_norm(latency_ms, lo_lat, hi_lat)
        reliability = 1.0 - seen.error_rate if seen is not None else _PRIOR_RELIABILITY
        preferred_part = len(preferred & m.capabilities) / wanted if wanted else 1.0
        scores[m.logical_id] = ScoreBreakdown(
            total=w_cost * cost_part
            + w_quality * quality
            + w_latency * latency_part
            + w_reliability * reliability
            + w_preferred * preferred_part,
            cost=cost_part,
            quality=quality,
            latency=latency_part,
            reliability=reliability,
            preferred=preferred_part,
            expected_cost=cost,
            latency_ms=latency_ms,
            observed=observed,
        )
    return scores


def rank(scores: Mapping[str, ScoreBreakdown], strategy: SelectionStrategy) -> list[str]:
    """Model ids best first; deterministic (ties broken by id)."""
    if strategy is SelectionStrategy.COST_OPTIMIZED:
        return sorted(scores, key=lambda lid: (scores[lid].expected_cost, -scores[lid].total, lid))
    if strategy is SelectionStrategy.QUALITY_OPTIMIZED:
        return sorted(
            scores,
            key=lambda lid: (
                -round(scores[lid].quality * scores[lid].reliability, 3),
                -round(scores[lid].total, 9),
                lid,
            ),
        )
    return sorted(scores, key=lambda lid: (-round(scores[lid].total, 9), lid))


def _inverse_norm(value: float, lo: float, hi: float) -> float:
    if hi == lo:
        return 1.0
    return (hi - value) / (hi - lo)
