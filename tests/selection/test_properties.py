"""Properties of selection over random catalogues, signals and contexts (hypothesis):

- a selected model satisfies every hard constraint (the node's and the context's, the request's
  estimated size included), whatever the overrides, pins and circuit states;
- when nothing qualifies, NoEligibleModel names every model, each with a real failure;
- the chain never repeats a model nor contains the primary, and holds no disabled model;
- COST_OPTIMIZED never picks a model with a higher expected cost than another eligible one;
- selection is deterministic: same inputs, same result, cached or not.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.selection.catalogs import selector_for

from llm_gateway.config.catalog import Catalog
from llm_gateway.errors import NoEligibleModel, NotFound
from llm_gateway.model_policy import Capability, CostTier, ModelPolicy, NodeRequirements
from llm_gateway.model_selector import SelectionContext, SelectionStrategy, merge_requirements
from llm_gateway.selection.constraints import hard_constraint_failures
from llm_gateway.selection.signals import InMemorySignals, Override

CAPS = [
    Capability.STREAMING,
    Capability.REASONING,
    Capability.FUNCTION_CALLING,
    Capability.CREATIVE_WRITING,
    Capability.WEB_SEARCH,
]
NAMES = [f"m{i}" for i in range(7)]
NODES = ["n0", "n1", "n2", "default"]
WINDOWS = [4_096, 8_192, 32_000, 128_000, 1_000_000]
PRICES = [Decimal(p) for p in ("0", "0.0001", "0.0004", "0.001", "0.003", "0.015", "0.075")]

caps = st.frozensets(st.sampled_from(CAPS), max_size=4)
tiers = st.sampled_from(list(CostTier))


@st.composite
def catalogs(draw: st.DrawFn, wide: bool = False) -> Catalog:
    """Random catalogues; ``wide`` ones have no node entries and every model enabled, so that
    most models are eligible at once (where ranking mistakes show)."""
    size = 4 if wide else 1
    names = draw(st.lists(st.sampled_from(NAMES), min_size=size, max_size=7, unique=True))
    policies = [
        ModelPolicy(
            logical_id=name,
            provider="openrouter",
            provider_model_id=f"v/{name}",
            capabilities=draw(caps),
            cost_tier=draw(tiers),
            context_window=draw(st.sampled_from(WINDOWS)),
            input_cost_per_1k=draw(st.sampled_from(PRICES)),
            output_cost_per_1k=draw(st.sampled_from(PRICES)),
            fallback_models=tuple(draw(st.lists(st.sampled_from(names), max_size=3))),
            quality_score=draw(st.sampled_from([None, 0.5, 0.9])),
            typical_latency_ms=draw(st.sampled_from([None, 300.0, 2_000.0])),
            enabled=wide or draw(st.sampled_from([True, True, True, False])),
        )
        for name in names
    ]
    nodes = [
        NodeRequirements(
            node_name=name,
            required_capabilities=draw(st.frozensets(st.sampled_from(CAPS), max_size=2)),
            preferred_capabilities=draw(caps),
            min_context_window=draw(st.sampled_from([0, 8_000, 100_000])),
            max_cost_tier=draw(tiers),
            reasoning_required=draw(st.booleans()),
            default_model=draw(st.none() | st.sampled_from(names)),
            default_strategy=draw(
                st.none() | st.sampled_from([s.value for s in SelectionStrategy])
            ),
            fallback_outside_requirements=draw(st.booleans()),
        )
        for name in draw(st.lists(st.sampled_from(NODES), max_size=0 if wide else 4, unique=True))
    ]
    return Catalog.from_entries(policies, nodes)


@dataclass(frozen=True)
class SignalState:
    disabled: frozenset[str]
    unavailable: frozenset[str]
    overrides: tuple[tuple[str, str, bool], ...]

    def build(self) -> InMemorySignals:
        signals = InMemorySignals()
        for model in sorted(self.disabled):
            signals.set_disabled(model, True)
        for model in sorted(self.unavailable):
            signals.set_available(model, False)
        for node_name, model, forced in self.overrides:
            signals.set_override(node_name, Override(model, forced=forced))
        return signals


signal_states = st.builds(
    SignalState,
    disabled=st.frozensets(st.sampled_from(NAMES), max_size=3),
    unavailable=st.frozensets(st.sampled_from(NAMES), max_size=3),
    overrides=st.lists(
        st.tuples(st.sampled_from(NODES), st.sampled_from(NAMES), st.booleans()), max_size=2
    ).map(tuple),
)

contexts = st.builds(
    SelectionContext,
    node_name=st.sampled_from([*NODES, "other"]),
    capabilities=st.lists(st.sampled_from(CAPS), max_size=2),
    preferred_capabilities=st.lists(st.sampled_from(CAPS), max_size=2),
    strategy=st.none() | st.sampled_from(list(SelectionStrategy)),
    min_context_window=st.sampled_from([0, 16_000, 200_000]),
    max_cost_tier=st.none() | tiers,
    estimated_input_tokens=st.none() | st.integers(0, 400_000),
    estimated_output_tokens=st.none() | st.integers(0, 20_000),
    requested_model=st.none() | st.sampled_from(NAMES),
)

PROPERTY_SETTINGS = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def _context_failures(policy: ModelPolicy, context: SelectionContext) -> list[str]:
    """The context's own demands, checked independently of merge_requirements."""
    failed = []
    if not {Capability(c) for c in context.capabilities} <= policy.capabilities:
        failed.append("capabilities")
    if context.max_cost_tier is not None and policy.cost_tier > CostTier(context.max_cost_tier):
        failed.append("tier")
    estimated = (context.estimated_input_tokens or 0) + (context.estimated_output_tokens or 0)
    if policy.context_window < max(context.min_context_window, estimated):
        failed.append("window")
    return failed


def _select(catalog: Catalog, state: SignalState, context: SelectionContext) -> Any:
    """The result, or the NoEligibleModel / NotFound error raised instead."""
    try:
        return selector_for(catalog, state.build()).select(context)
    except (NoEligibleModel, NotFound) as error:
        return error


@PROPERTY_SETTINGS
@given(catalogs(), signal_states, contexts)
def test_selected_model_satisfies_every_hard_constraint(
    catalog: Catalog, state: SignalState, context: SelectionContext
) -> None:
    outcome = _select(catalog, state, context)
    if isinstance(outcome, NotFound):
        assert context.requested_model not in catalog.policies
        return
    node = catalog.requirements_for(context.node_name)
    needs = merge_requirements(catalog, context)
    if isinstance(outcome, NoEligibleModel):
        assert outcome.rejections, "names the models"
        for lid in outcome.rejections:
            policy = catalog.policies[lid]
            real = hard_constraint_failures(policy, needs, min_context=context.token_floor)
            assert real or lid in state.disabled
        if context.requested_model is None:
            assert set(outcome.rejections) == set(catalog.policies)
        return
    chosen = outcome.selected_model
    last = {n: (m, f) for n, m, f in state.overrides}.get(context.node_name)
    forced = last is not None and last == (chosen.logical_id, True)
    if not (outcome.source == "override" and forced):  # an admin's force bypasses the node's
        assert hard_constraint_failures(chosen, node) == [], "the node's own requirements"
    assert _context_failures(chosen, context) == [], "the context's additions"
    assert chosen.enabled and chosen.logical_id not in state.disabled


@PROPERTY_SETTINGS
@given(catalogs(), signal_states, contexts)
def test_chain_never_repeats_and_respects_the_node(
    catalog: Catalog, state: SignalState, context: SelectionContext
) -> None:
    context = SelectionContext(**{**_fields(context), "requested_model": None})
    outcome = _select(catalog, state, context)
    if isinstance(outcome, NoEligibleModel):
        return
    chain = outcome.fallback_chain
    assert len(chain) == len(set(chain))
    assert outcome.selected_model.logical_id not in chain
    assert [p.logical_id for p in outcome.candidates] == [outcome.selected_model.logical_id, *chain]
    needs = merge_requirements(catalog, context)
    for lid in chain:
        policy = catalog.policies[lid]
        assert lid not in state.disabled and policy.enabled
        assert policy.context_window >= max(needs.min_context_window, context.token_floor)
        if not needs.fallback_outside_requirements:
            assert hard_constraint_failures(policy, needs, min_context=context.token_floor) == []


@PROPERTY_SETTINGS
@given(st.one_of(catalogs(), catalogs(wide=True)), signal_states, contexts)
def test_cost_optimized_never_picks_a_dearer_model(
    catalog: Catalog, state: SignalState, context: SelectionContext
) -> None:
    """Without pins (requested model, override, node default), COST_OPTIMIZED's choice costs no
    more than any other eligible model with a closed circuit, at the estimates it plans with."""
    context = SelectionContext(
        **{
            **_fields(context),
            "strategy": SelectionStrategy.COST_OPTIMIZED,
            "requested_model": None,
        }
    )
    state = SignalState(state.disabled, state.unavailable, overrides=())
    outcome = _select(catalog, state, context)
    if isinstance(outcome, NoEligibleModel):
        return
    planned_in, planned_out = context.planned_tokens
    tokens = (
        1000 if planned_in is None else planned_in,
        500 if planned_out is None else planned_out,
    )
    chosen = outcome.selected_model
    available = [lid for lid in outcome.scores if lid not in state.unavailable]
    if chosen.logical_id in state.unavailable:
        assert available == []
        return
    for lid in available:
        assert chosen.expected_cost(*tokens) <= catalog.policies[lid].expected_cost(*tokens)


@PROPERTY_SETTINGS
@given(catalogs(), signal_states, contexts)
def test_selection_is_deterministic(
    catalog: Catalog, state: SignalState, context: SelectionContext
) -> None:
    first = _select(catalog, state, context)
    second = _select(
        Catalog.from_entries(catalog.policies.values(), catalog.nodes.values()), state, context
    )
    if isinstance(first, Exception):
        assert type(second) is type(first) and str(second) == str(first)
        return
    assert first.as_dict() == second.as_dict()
    selector = selector_for(catalog, state.build())
    cached = [selector.select(context).as_dict() for _ in range(2)]
    selector.clear_cache()
    assert cached == [first.as_dict()] * 2 == [selector.select(context).as_dict()] * 2


def _fields(context: SelectionContext) -> dict[str, Any]:
    return {name: getattr(context, name) for name in SelectionContext.__dataclass_fields__}
