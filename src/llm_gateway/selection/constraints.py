"""Hard constraints: the rules a selected model may never break. Pure functions."""

from __future__ import annotations

from llm_gateway.model_policy import ModelPolicy, NodeRequirements


def hard_constraint_failures(
    policy: ModelPolicy, needs: NodeRequirements, *, min_context: int = 0
) -> list[str]:
    """Every hard constraint of ``needs`` that ``policy`` fails, as readable phrases.

    ``min_context`` raises the node's own ``min_context_window`` (e.g. the request's estimated
    tokens). An empty list means the model is eligible.
    """
    failures: list[str] = []
    missing = needs.hard_capabilities - policy.capabilities
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
