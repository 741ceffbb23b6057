"""Hard constraints: the rules a selected model may never break, and how a request's context
combines with its node's declared requirements. Pure functions."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from llm_gateway.errors import InvalidRequest, echo
from llm_gateway.model_policy import Capability, CostTier, ModelPolicy, NodeRequirements
from llm_gateway.selection.scoring import SelectionStrategy

if TYPE_CHECKING:
    from llm_gateway.config.catalog import Catalog
    from llm_gateway.selection.context import SelectionContext


def hard_constraint_failures(
    policy: ModelPolicy, needs: NodeRequirements, *, min_context: int = 0
) -> list[str]:
    """Every hard constraint of ``needs`` that ``policy`` fails, as readable phrases.

    ``min_context`` raises the node's own ``min_context_window`` (e.g. the request's estimated
    tokens). An empty list means the model is eligible.
    """
    failures: list[str] = []
    if needs.reasoning_required and Capability.REASONING not in policy.capabilities:
        failures.append("reasoning required (reasoning_required: true)")
    missing = needs.required_capabilities - policy.capabilities
    if needs.reasoning_required:
        missing -= {Capability.REASONING}
    if missing:
        failures.append("missing capabilities " + ", ".join(sorted(missing)))
    needed_context = max(needs.min_context_window, min_context)
    if policy.context_window < needed_context:
        failures.append(f"context window {policy.context_window} < required {needed_context}")
    if policy.cost_tier > needs.max_cost_tier:
        failures.append(f"cost tier {policy.cost_tier.value} above max {needs.max_cost_tier.value}")
    if not policy.enabled:
        failures.append("disabled in configuration")
    return failures


def merge_requirements(catalog: Catalog, context: SelectionContext) -> NodeRequirements:
    """The node's requirements tightened by the context, never loosened.

    Required and preferred capabilities are unions, the context window the larger, the cost
    tier the lower. Raises InvalidRequest for an unknown capability or tier name.
    """
    base = catalog.requirements_for(context.node_name)
    tier = base.max_cost_tier
    if context.max_cost_tier is not None:
        tier = min(tier, parse_tier(context.max_cost_tier), key=lambda t: t.rank)
    if context.min_context_window < 0:
        raise InvalidRequest("min_context_window must not be negative", param="min_context_window")
    return base.model_copy(
        update={
            "required_capabilities": base.required_capabilities
            | parse_capabilities(context.capabilities, "capabilities"),
            "preferred_capabilities": base.preferred_capabilities
            | parse_capabilities(context.preferred_capabilities, "preferred_capabilities"),
            "min_context_window": max(base.min_context_window, context.min_context_window),
            "max_cost_tier": tier,
        }
    )


def parse_capabilities(
    values: Iterable[Capability | str] | str, param: str
) -> frozenset[Capability]:
    """Capability names (any case) → capabilities; raises InvalidRequest naming unknown ones."""
    if isinstance(values, str):
        values = [values]
    found: set[Capability] = set()
    for value in values:
        try:
            found.add(Capability(str(value).lower()))
        except ValueError:
            known = ", ".join(c.value for c in Capability)
            raise InvalidRequest(
                f"unknown capability {value!r}; known: {known}",
                param=param,
                code="unknown_capability",
            ) from None
    return frozenset(found)


def parse_tier(value: CostTier | str) -> CostTier:
    try:
        return CostTier(str(value).upper())
    except ValueError:
        known = ", ".join(t.value for t in CostTier)
        raise InvalidRequest(
            f"unknown cost tier {value!r}; known: {known}", param="max_cost_tier"
        ) from None


def parse_strategy(value: SelectionStrategy | str) -> SelectionStrategy:
    try:
        return SelectionStrategy(str(value).lower())
    except ValueError:
        known = ", ".join(s.value for s in SelectionStrategy)
        raise InvalidRequest(
            f"unknown strategy '{echo(str(value))}'; known: {known}", param="strategy"
        ) from None
