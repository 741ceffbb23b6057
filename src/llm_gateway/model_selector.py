"""Capability-aware model selection.

``await get_model_selector().select_model(SelectionContext(...))`` returns a
:class:`SelectionResult`: the primary model, the ordered fallback chain, every eligible model's
score breakdown, readable reasons and, for every rejected model, why. Hard constraints come from
the node's entry in ``node_requirements.yaml`` merged with the context (the context may add
requirements, never loosen the node's) and are never violated; when nothing qualifies
:class:`~llm_gateway.errors.NoEligibleModel` lists each model and the constraint it failed.

Selection is pure given (catalog snapshot, signals snapshot, context), so results are cached on
exactly that key.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from llm_gateway.config.catalog import Catalog
from llm_gateway.errors import NoEligibleModel, NotFound
from llm_gateway.model_policy import (
    Capability,
    CostTier,
    ModelPolicy,
    ModelPolicyRegistry,
    NodeRequirements,
    get_model_policy_registry,
)
from llm_gateway.selection.constraints import hard_constraint_failures
from llm_gateway.selection.scoring import ScoreBreakdown, SelectionStrategy, rank, score_models
from llm_gateway.selection.signals import InMemorySignals, SelectionSignals, SignalsSnapshot

__all__ = [
    "ModelSelector",
    "SelectionContext",
    "SelectionResult",
    "SelectionStrategy",
    "get_model_selector",
]

DEFAULT_INPUT_TOKENS = 1000
DEFAULT_OUTPUT_TOKENS = 500
MAX_FALLBACKS = 4


@dataclass(frozen=True, slots=True)
class SelectionContext:
    """What a caller asks for. ``capabilities`` are required; everything else is optional."""

    node_name: str = "default"
    capabilities: Sequence[Capability | str] = ()
    preferred_capabilities: Sequence[Capability | str] = ()
    strategy: SelectionStrategy | str | None = None
    min_context_window: int = 0
    max_cost_tier: CostTier | str | None = None
    estimated_input_tokens: int | None = None
    estimated_output_tokens: int | None = None
    trace_id: str | None = None
    requested_model: str | None = None

    def cache_key(self) -> tuple[Any, ...]:
        return (
            self.node_name,
            frozenset(self.capabilities),
            frozenset(self.preferred_capabilities),
            self.strategy,
            self.min_context_window,
            self.max_cost_tier,
            self.estimated_input_tokens,
            self.estimated_output_tokens,
            self.requested_model,
        )


@dataclass(frozen=True, slots=True)
class SelectionResult:
    """The choice. ``candidates`` is ``(selected_model, *fallbacks)`` as policies."""

    selected_model: ModelPolicy
    fallback_chain: tuple[str, ...]
    candidates: tuple[ModelPolicy, ...]
    strategy: SelectionStrategy
    node_name: str
    reasons: tuple[str, ...]
    scores: Mapping[str, ScoreBreakdown]
    rejected: Mapping[str, tuple[str, ...]]
    requirements: NodeRequirements
    override: str | None = None
    config_version: str = ""
    trace_id: str | None = field(default=None, compare=False)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready view for the admin API and the CLI."""
        req = self.requirements
        return {
            "node_name": self.node_name,
            "selected_model": self.selected_model.logical_id,
            "provider": self.selected_model.provider,
            "provider_model_id": self.selected_model.provider_model_id,
            "fallback_chain": list(self.fallback_chain),
            "strategy": self.strategy.value,
            "override": self.override,
            "reasons": list(self.reasons),
            "scores": {lid: s.as_dict() for lid, s in self.scores.items()},
            "rejected": {lid: list(why) for lid, why in self.rejected.items()},
            "requirements": {
                "required_capabilities": sorted(req.hard_capabilities),
                "preferred_capabilities": sorted(req.preferred_capabilities),
                "min_context_window": req.min_context_window,
                "max_cost_tier": req.max_cost_tier.value,
                "reasoning_required": req.reasoning_required,
            },
            "config_version": self.config_version,
        }


class ModelSelector:
    """Picks a primary model and a fallback chain for a context. Thread-safe, cached."""

    def __init__(
        self,
        registry: ModelPolicyRegistry,
        signals: SelectionSignals | None = None,
        *,
        cache_size: int = 8192,
    ) -> None:
        self.registry = registry
        self.signals: SelectionSignals = signals if signals is not None else InMemorySignals()
        self._cache: OrderedDict[tuple[Any, ...], SelectionResult] = OrderedDict()
        self._cache_size = cache_size

    async def select_model(self, context: SelectionContext) -> SelectionResult:
        """Async form of :meth:`select` (the guide's API)."""
        return self.select(context)

    def select(self, context: SelectionContext) -> SelectionResult:
        """Choose for ``context``; raises NoEligibleModel or NotFound (unknown requested model)."""
        catalog: Catalog = self.registry.catalog
        signals = self.signals.snapshot()
        key = (catalog.version, signals.version, context.cache_key())
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        result = _select(catalog, signals, context)
        self._cache[key] = result
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return result

    def requirements_for(self, context: SelectionContext) -> NodeRequirements:
        return merge_requirements(self.registry.catalog, context)

    async def get_model_recommendations(self, node_name: str) -> dict[str, Any]:
        """Ranked options for a node with estimated cost per 1k requests and observed data."""
        catalog: Catalog = self.registry.catalog
        signals = self.signals.snapshot()
        needs = merge_requirements(catalog, SelectionContext(node_name=node_name))
        eligible, rejected = _partition(catalog.policies.values(), needs, signals, 0)
        picks = {}
        for strategy in SelectionStrategy:
            try:
                picks[strategy.value] = self.select(
                    SelectionContext(node_name=node_name, strategy=strategy)
                ).selected_model.logical_id
            except NoEligibleModel:
                picks[strategy.value] = None
        strategy = _strategy(needs, None)
        scores = score_models(
            eligible,
            strategy,
            preferred=needs.preferred_capabilities,
            input_tokens=DEFAULT_INPUT_TOKENS,
            output_tokens=DEFAULT_OUTPUT_TOKENS,
            stats=signals.stats,
        )
        options = []
        for lid in rank(scores, strategy):
            policy = catalog.policies[lid]
            options.append(
                {
                    "model": lid,
                    "provider_model_id": policy.provider_model_id,
                    "cost_tier": policy.cost_tier.value,
                    "score": round(scores[lid].total, 4),
                    "estimated_cost_per_1k_requests_usd": str(
                        (scores[lid].expected_cost * 1000).quantize(Decimal("0.0001"))
                    ),
                    "latency_ms": round(scores[lid].latency_ms, 1),
                    "observed": scores[lid].observed,
                }
            )
        performance = {
            lid: {
                "latency_ms": round(s.latency_ms, 1),
                "error_rate": round(s.error_rate, 4),
                "samples": s.samples,
            }
            for lid, s in signals.stats.items()
        }
        override = signals.overrides.get(node_name)
        return {
            "node_name": node_name,
            "strategy": strategy.value,
            "assumed_tokens": {"input": DEFAULT_INPUT_TOKENS, "output": DEFAULT_OUTPUT_TOKENS},
            "current_override": override.model_id if override else None,
            "recommended": options[0]["model"] if options else None,
            "by_strategy": picks,
            "options": options,
            "rejected": {lid: list(why) for lid, why in rejected.items()},
            "performance_data": performance,
        }

    def clear_cache(self) -> None:
        self._cache.clear()


def merge_requirements(catalog: Catalog, context: SelectionContext) -> NodeRequirements:
    """The node's requirements tightened by the context (never loosened)."""
    base = catalog.node_requirements(context.node_name) or NodeRequirements(
        node_name=context.node_name
    )
    tier = base.max_cost_tier
    if context.max_cost_tier is not None:
        tier = min(tier, CostTier(context.max_cost_tier), key=lambda t: t.rank)
    return base.model_copy(
        update={
            "required_capabilities": base.required_capabilities | _caps(context.capabilities),
            "preferred_capabilities": base.preferred_capabilities
            | _caps(context.preferred_capabilities),
            "min_context_window": max(base.min_context_window, context.min_context_window),
            "max_cost_tier": tier,
        }
    )


def _caps(values: Iterable[Capability | str]) -> frozenset[Capability]:
    try:
        return frozenset(Capability(v) for v in values)
    except ValueError as exc:
        known = ", ".join(c.value for c in Capability)
        raise NoEligibleModel(f"unknown capability ({exc}); known: {known}", {}) from None


def _strategy(
    needs: NodeRequirements, requested: SelectionStrategy | str | None
) -> SelectionStrategy:
    if requested is not None:
        return SelectionStrategy(requested)
    if needs.default_strategy is not None:
        return SelectionStrategy(needs.default_strategy)
    return SelectionStrategy.BALANCED


def _token_floor(context: SelectionContext) -> int:
    if context.estimated_input_tokens is None:
        return 0
    return context.estimated_input_tokens + (context.estimated_output_tokens or 0)


def _partition(
    policies: Iterable[ModelPolicy],
    needs: NodeRequirements,
    signals: SignalsSnapshot,
    min_context: int,
) -> tuple[list[ModelPolicy], dict[str, tuple[str, ...]]]:
    eligible: list[ModelPolicy] = []
    rejected: dict[str, tuple[str, ...]] = {}
    for policy in policies:
        why = hard_constraint_failures(policy, needs, min_context=min_context)
        if policy.logical_id in signals.disabled:
            why.append("disabled by an admin")
        if policy.logical_id in signals.unavailable:
            why.append("circuit open (recent failures)")
        if why:
            rejected[policy.logical_id] = tuple(why)
        else:
            eligible.append(policy)
    return eligible, rejected


def _select(
    catalog: Catalog, signals: SignalsSnapshot, context: SelectionContext
) -> SelectionResult:
    needs = merge_requirements(catalog, context)
    strategy = _strategy(needs, context.strategy)
    min_context = _token_floor(context)
    eligible, rejected = _partition(catalog.policies.values(), needs, signals, min_context)
    scores = score_models(
        eligible,
        strategy,
        preferred=needs.preferred_capabilities,
        input_tokens=context.estimated_input_tokens or DEFAULT_INPUT_TOKENS,
        output_tokens=context.estimated_output_tokens or DEFAULT_OUTPUT_TOKENS,
        stats=signals.stats,
    )
    ranked = rank(scores, strategy)
    reasons: list[str] = []
    override_id: str | None = None
    primary: str | None = None

    if context.requested_model is not None:
        primary = _requested_primary(catalog, signals, context, needs, min_context, reasons)
    else:
        override = signals.overrides.get(context.node_name)
        if override is not None:
            primary = _override_primary(catalog, signals, override, needs, min_context, reasons)
            override_id = primary
    if primary is None:
        if not ranked:
            raise NoEligibleModel(
                f"no model satisfies node '{context.node_name}'",
                {lid: list(why) for lid, why in rejected.items()},
            )
        primary = ranked[0]
        top = scores[primary]
        reasons.append(
            f"{primary}: best {strategy.value} score {top.total:.3f} of {len(ranked)} eligible "
            f"(expected ${top.expected_cost:.6f}/request, ~{top.latency_ms:.0f} ms"
            f"{' observed' if top.observed else ' declared'})"
        )
    chain = _fallbacks(catalog, primary, ranked, needs, min_context, signals)
    if chain:
        reasons.append("fallbacks: " + " → ".join(chain))
    return SelectionResult(
        selected_model=catalog.policies[primary],
        fallback_chain=chain,
        candidates=(catalog.policies[primary], *(catalog.policies[m] for m in chain)),
        strategy=strategy,
        node_name=context.node_name,
        reasons=tuple(reasons),
        scores=scores,
        rejected=rejected,
        requirements=needs,
        override=override_id,
        config_version=catalog.version,
        trace_id=context.trace_id,
    )


def _requested_primary(
    catalog: Catalog,
    signals: SignalsSnapshot,
    context: SelectionContext,
    needs: NodeRequirements,
    min_context: int,
    reasons: list[str],
) -> str:
    model = context.requested_model
    assert model is not None
    policy = catalog.policies.get(model)
    if policy is None:
        raise NotFound(f"unknown model '{model}'", param="model", code="model_not_found")
    why = hard_constraint_failures(policy, needs, min_context=min_context)
    if why:
        raise NoEligibleModel(f"model '{model}' cannot serve this request", {model: why})
    if model in signals.disabled:
        raise NoEligibleModel(f"model '{model}' is disabled", {model: ["disabled by an admin"]})
    reasons.append(f"{model}: requested by the caller")
    if model in signals.unavailable:
        reasons.append(f"{model}: circuit open; fallbacks will be tried first")
    return model


def _override_primary(
    catalog: Catalog,
    signals: SignalsSnapshot,
    override: Any,
    needs: NodeRequirements,
    min_context: int,
    reasons: list[str],
) -> str | None:
    model = override.model_id
    policy = catalog.policies.get(model)
    if policy is None:
        reasons.append(f"override '{model}' ignored: no longer in the catalogue")
        return None
    if override.forced:
        why = [
            w
            for w in hard_constraint_failures(policy, needs, min_context=min_context)
            if w.startswith("context window")
        ]
    else:
        why = hard_constraint_failures(policy, needs, min_context=min_context)
    if model in signals.disabled:
        why.append("disabled by an admin")
    if model in signals.unavailable:
        why.append("circuit open")
    if why:
        reasons.append(f"override '{model}' skipped: {'; '.join(why)}")
        return None
    reasons.append(f"{model}: admin override{' (forced)' if override.forced else ''}")
    return str(model)


def _fallbacks(
    catalog: Catalog,
    primary: str,
    ranked: list[str],
    needs: NodeRequirements,
    min_context: int,
    signals: SignalsSnapshot,
) -> tuple[str, ...]:
    """Declared fallbacks of the primary that are eligible, then the best-ranked others."""
    eligible = set(ranked)
    chain: list[str] = []
    for model in catalog.expand_fallbacks(primary):
        if model in eligible or (
            needs.fallback_outside_requirements
            and _usable_outside(catalog, model, signals, min_context)
        ):
            chain.append(model)
    for model in ranked:
        if model != primary and model not in chain:
            chain.append(model)
    return tuple(chain[:MAX_FALLBACKS])


def _usable_outside(
    catalog: Catalog, model: str, signals: SignalsSnapshot, min_context: int
) -> bool:
    policy = catalog.policies[model]
    return (
        policy.enabled
        and policy.context_window >= min_context
        and model not in signals.disabled
        and model not in signals.unavailable
    )


_selector: ModelSelector | None = None


def get_model_selector() -> ModelSelector:
    """The process's selector over the process's registry."""
    global _selector
    if _selector is None:
        _selector = ModelSelector(get_model_policy_registry())
    return _selector


def set_model_selector(selector: ModelSelector | None) -> None:
    global _selector
    _selector = selector
