"""In-memory catalogues for selection tests (no files: Catalog.from_entries)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from llm_gateway.config.catalog import Catalog
from llm_gateway.model_policy import (
    Capability,
    CostTier,
    ModelPolicy,
    ModelPolicyRegistry,
    NodeRequirements,
)
from llm_gateway.model_selector import ModelSelector
from llm_gateway.selection.signals import InMemorySignals


def policy(
    logical_id: str,
    caps: str,
    tier: str,
    window: int,
    price_in: str,
    price_out: str,
    fallbacks: tuple[str, ...] = (),
    **extra: Any,
) -> ModelPolicy:
    """``caps`` is space-separated capability names."""
    return ModelPolicy(
        logical_id=logical_id,
        provider="openrouter",
        provider_model_id=f"vendor/{logical_id}",
        capabilities=frozenset(Capability(c) for c in caps.split()),
        cost_tier=CostTier(tier),
        context_window=window,
        input_cost_per_1k=Decimal(price_in),
        output_cost_per_1k=Decimal(price_out),
        fallback_models=fallbacks,
        **extra,
    )


def node(name: str, required: str = "", preferred: str = "", **extra: Any) -> NodeRequirements:
    return NodeRequirements(
        node_name=name,
        required_capabilities=frozenset(Capability(c) for c in required.split()),
        preferred_capabilities=frozenset(Capability(c) for c in preferred.split()),
        **extra,
    )


def small_catalog() -> Catalog:
    """Six models and six nodes covering every rule of selection."""
    return Catalog.from_entries(
        [
            policy("cheap", "streaming function_calling fast", "LOW", 128_000, "0.0001", "0.0004",
                   ("writer-mid",), typical_latency_ms=300),
            policy("writer-mid", "streaming creative_writing long_context", "MEDIUM", 200_000,
                   "0.001", "0.004", ("smart", "cheap"), typical_latency_ms=700),
            policy("smart", "streaming reasoning creative_writing function_calling", "HIGH",
                   200_000, "0.003", "0.015", ("premium", "writer-mid"), typical_latency_ms=1200),
            policy("premium", "streaming reasoning creative_writing", "PREMIUM", 200_000, "0.015",
                   "0.075", ("smart",), quality_score=0.97, typical_latency_ms=1800),
            policy("search", "streaming web_search", "MEDIUM", 127_000, "0.001", "0.001",
                   typical_latency_ms=1000),
            policy("tiny", "streaming creative_writing", "LOW", 8_192, "0.00005", "0.0001",
                   typical_latency_ms=200),
        ],
        [
            node("writer", "streaming creative_writing", "long_context", min_context_window=8000,
                 max_cost_tier=CostTier.HIGH),
            node("evaluator", "reasoning", "function_calling", reasoning_required=True,
                 max_cost_tier=CostTier.PREMIUM),
            node("search_*", "web_search", "streaming"),
            node("formatter", "streaming", "fast", max_cost_tier=CostTier.MEDIUM,
                 default_strategy="cost_optimized"),
            node("pinned", "streaming", default_model="writer-mid"),
            node("default", "", "streaming", max_cost_tier=CostTier.HIGH),
        ],
    )  # fmt: skip


def selector_for(catalog: Catalog, signals: InMemorySignals | None = None) -> ModelSelector:
    return ModelSelector(ModelPolicyRegistry.from_catalog(catalog), signals or InMemorySignals())
