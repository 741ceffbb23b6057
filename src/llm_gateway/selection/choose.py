"""The selection procedure, pure: (catalogue, signals snapshot, context) → SelectionResult.

1. requirements  the node's entry merged with the context (tighten only)
2. partition     every model is eligible, or rejected with every constraint it fails; eligible
                 models whose circuit is open are *demoted* (kept, but tried last)
3. score/rank    under the strategy (context's, else the node's default, else balanced)
4. primary       requested model > admin override > node default_model > best ranked
5. chain         the primary's declared fallbacks (expanded, eligible only unless the node allows
                 ``fallback_outside_requirements``), then the best-ranked others, demoted last
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from types import MappingProxyType

from llm_gateway.config.catalog import Catalog
from llm_gateway.errors import NoEligibleModel, NotFound, echo
from llm_gateway.model_policy import ModelPolicy, NodeRequirements
from llm_gateway.selection.constraints import (
    hard_constraint_failures,
    merge_requirements,
    parse_capabilities,
    parse_strategy,
    parse_tier,
)
from llm_gateway.selection.context import SelectionContext, SelectionResult
from llm_gateway.selection.scoring import ScoreBreakdown, SelectionStrategy, rank, score_models
from llm_gateway.selection.signals import SignalsSnapshot

DEFAULT_INPUT_TOKENS = 1000
DEFAULT_OUTPUT_TOKENS = 500
MAX_FALLBACKS = 4


@dataclass
class CandidatePool:
    """The outcome of partitioning the catalogue for one request."""

    needs: NodeRequirements
    min_context: int
    eligible: list[ModelPolicy] = field(default_factory=list)
    demoted: set[str] = field(default_factory=set)
    rejected: dict[str, tuple[str, ...]] = field(default_factory=dict)


def choose_strategy(
    needs: NodeRequirements, requested: SelectionStrategy | str | None
) -> SelectionStrategy:
    """The context's strategy, else the node's ``default_strategy``, else BALANCED."""
    if requested is not None:
        return parse_strategy(requested)
    if needs.default_strategy is not None:
        return parse_strategy(needs.default_strategy)
    return SelectionStrategy.BALANCED


def partition(
    policies: Iterable[ModelPolicy],
    needs: NodeRequirements,
    signals: SignalsSnapshot,
    min_context: int,
) -> CandidatePool:
    """Split models into eligible (some demoted for an open circuit) and rejected (with why)."""
    pool = CandidatePool(needs=needs, min_context=min_context)
    for policy in policies:
        why = hard_constraint_failures(policy, needs, min_context=min_context)
        if policy.logical_id in signals.disabled:
            why.append("disabled by an admin")
        if why:
            pool.rejected[policy.logical_id] = tuple(why)
            continue
        pool.eligible.append(policy)
        if policy.logical_id in signals.unavailable:
            pool.demoted.add(policy.logical_id)
    return pool


def select(
    catalog: Catalog, signals: SignalsSnapshot, context: SelectionContext
) -> SelectionResult:
    """Choose a primary and a fallback chain for ``context``.

    Raises NoEligibleModel (naming every model and the constraints it failed) when no model
    satisfies the hard constraints, NotFound for an unknown ``requested_model`` and
    InvalidRequest for an unknown capability, tier or strategy name.
    """
    needs = merge_requirements(catalog, context)
    strategy = choose_strategy(needs, context.strategy)
    pool = partition(catalog.policies.values(), needs, signals, context.token_floor)
    scores = _score(pool, strategy, context, signals)
    ranked = available_first(rank(scores, strategy), pool.demoted)
    reasons: list[str] = []
    primary, source = _pinned_primary(catalog, signals, context, pool, reasons)
    if primary is None:
        if not ranked:
            raise NoEligibleModel(
                f"no model satisfies node '{echo(context.node_name)}'",
                {lid: list(why) for lid, why in pool.rejected.items()},
            )
        primary, source = ranked[0], "score"
        reasons.append(_score_reason(primary, scores[primary], strategy, len(ranked)))
    chain = fallback_chain(catalog, primary, ranked, pool, signals)
    reasons.extend(_chain_reasons(primary, source, chain, pool))
    return SelectionResult(
        selected_model=catalog.policies[primary],
        fallback_chain=chain,
        candidates=(catalog.policies[primary], *(catalog.policies[m] for m in chain)),
        strategy=strategy,
        node_name=context.node_name,
        reasons=tuple(reasons),
        scores=MappingProxyType(scores),
        rejected=MappingProxyType(pool.rejected),
        requirements=needs,
        override=primary if source == "override" else None,
        config_version=catalog.version,
        trace_id=context.trace_id,
        demoted=frozenset(pool.demoted),
        source=source,
    )


def _score(
    pool: CandidatePool,
    strategy: SelectionStrategy,
    context: SelectionContext,
    signals: SignalsSnapshot,
) -> dict[str, ScoreBreakdown]:
    planned_in, planned_out = context.planned_tokens
    return score_models(
        pool.eligible,
        strategy,
        preferred=pool.needs.preferred_capabilities,
        input_tokens=DEFAULT_INPUT_TOKENS if planned_in is None else planned_in,
        output_tokens=DEFAULT_OUTPUT_TOKENS if planned_out is None else planned_out,
        stats=signals.stats,
    )


def available_first(ranked: list[str], demoted: set[str]) -> list[str]:
    """``ranked`` with the circuit-open models moved to the end, order otherwise kept."""
    return [m for m in ranked if m not in demoted] + [m for m in ranked if m in demoted]


def _chain_reasons(
    primary: str, source: str, chain: tuple[str, ...], pool: CandidatePool
) -> list[str]:
    reasons = []
    if primary in pool.demoted:
        why = "no eligible model has a closed circuit" if source == "score" else f"kept ({source})"
        reasons.append(f"{primary}: circuit open; {why}")
    if chain:
        reasons.append("fallbacks: " + " → ".join(chain))
    if pool.demoted:
        reasons.append("circuit open, tried last: " + ", ".join(sorted(pool.demoted)))
    return reasons


def _score_reason(model: str, top: ScoreBreakdown, strategy: SelectionStrategy, n: int) -> str:
    """Why the ranking put ``model`` first, in the terms of the strategy's ranking: the two
    lexicographic strategies rank by cost, or by quality x reliability, before the score."""
    basis = "observed" if top.observed else "declared"
    expected = f"expected ${top.expected_cost:.6f}/request, ~{top.latency_ms:.0f} ms {basis}"
    if strategy is SelectionStrategy.COST_OPTIMIZED:
        return (
            f"{model}: cheapest of {n} eligible, {strategy.value} "
            f"({expected}; score {top.total:.3f})"
        )
    if strategy is SelectionStrategy.QUALITY_OPTIMIZED:
        return (
            f"{model}: highest quality x reliability of {n} eligible, {strategy.value} "
            f"({top.quality:.2f} x {top.reliability:.2f}; {expected}; score {top.total:.3f})"
        )
    return f"{model}: best {strategy.value} score {top.total:.3f} of {n} eligible ({expected})"


def _pinned_primary(
    catalog: Catalog,
    signals: SignalsSnapshot,
    context: SelectionContext,
    pool: CandidatePool,
    reasons: list[str],
) -> tuple[str | None, str]:
    """A primary fixed by the caller, an admin or the node's config, if one applies."""
    if context.requested_model is not None:
        return _requested(catalog, context.requested_model, pool, reasons), "requested"
    override = signals.overrides.get(context.node_name)
    if override is not None:
        model = override.model_id
        usable = _usable_pin(catalog, model, pool, allow_open_circuit=override.forced)
        if usable is None:
            reasons.append(f"{model}: admin override{' (forced)' if override.forced else ''}")
            return model, "override"
        if override.forced:
            bypassed = _forced_pin(catalog, signals, model, context, pool)
            if bypassed is not None:
                reasons.append(
                    f"{model}: forced admin override, node requirements bypassed ({bypassed})"
                )
                return model, "override"
        reasons.append(f"override '{model}' skipped: {usable}")
    default = pool.needs.default_model
    if default is not None and context.strategy is None:
        usable = _usable_pin(catalog, default, pool, allow_open_circuit=False)
        if usable is None:
            reasons.append(f"{default}: the node's default_model")
            return default, "node_default"
        reasons.append(f"default_model '{default}' skipped: {usable}")
    return None, "score"


def _forced_pin(
    catalog: Catalog,
    signals: SignalsSnapshot,
    model: str,
    context: SelectionContext,
    pool: CandidatePool,
) -> str | None:
    """What a forced override bypasses (the node's own requirements), or None when even a forced
    override cannot take the request: unknown or disabled model, or a demand of the request
    itself (a capability such as streaming or tools, its tier cap, a context window it needs)."""
    policy = catalog.policies.get(model)
    if policy is None or model in signals.disabled:
        return None
    request_only = NodeRequirements(
        node_name=context.node_name,
        required_capabilities=parse_capabilities(context.capabilities, "capabilities"),
        max_cost_tier=(
            parse_tier(context.max_cost_tier)
            if context.max_cost_tier is not None
            else NodeRequirements.model_fields["max_cost_tier"].default
        ),
        min_context_window=context.min_context_window,
    )
    if hard_constraint_failures(policy, request_only, min_context=pool.min_context):
        return None
    return "; ".join(pool.rejected.get(model, ())) or "none"


def _usable_pin(
    catalog: Catalog, model: str, pool: CandidatePool, *, allow_open_circuit: bool
) -> str | None:
    """``None`` when ``model`` may be pinned as primary, else why not."""
    if model not in catalog.policies:
        return "no longer in the catalogue"
    if model in pool.rejected:
        return "; ".join(pool.rejected[model])
    if model in pool.demoted and not allow_open_circuit:
        return "circuit open"
    return None


def _requested(catalog: Catalog, model: str, pool: CandidatePool, reasons: list[str]) -> str:
    if model not in catalog.policies:
        raise NotFound(f"unknown model '{echo(model)}'", param="model", code="model_not_found")
    if model in pool.rejected:
        raise NoEligibleModel(
            f"model '{model}' cannot serve this request", {model: list(pool.rejected[model])}
        )
    reasons.append(f"{model}: requested by the caller")
    return model


def fallback_chain(
    catalog: Catalog, primary: str, ranked: list[str], pool: CandidatePool, signals: SignalsSnapshot
) -> tuple[str, ...]:
    """Declared fallbacks of the primary that may be used, then the best-ranked others;
    demoted (circuit-open) models last; never the primary, never twice; at most MAX_FALLBACKS."""
    eligible = set(ranked)
    chain: list[str] = []
    for model in catalog.expand_fallbacks(primary):
        if model == primary or model in pool.demoted:
            continue
        if model in eligible or (
            pool.needs.fallback_outside_requirements
            and _usable_outside(catalog.policies[model], signals, pool.min_context, pool.needs)
        ):
            chain.append(model)
    chain.extend(m for m in ranked if m != primary and m not in chain)
    return tuple(chain[:MAX_FALLBACKS])


def _usable_outside(
    policy: ModelPolicy, signals: SignalsSnapshot, min_context: int, needs: NodeRequirements
) -> bool:
    """A model outside the node's capability/tier requirements that can still take the request."""
    lid = policy.logical_id
    return (
        policy.enabled
        and policy.context_window >= max(min_context, needs.min_context_window)
        and lid not in signals.disabled
        and lid not in signals.unavailable
    )
