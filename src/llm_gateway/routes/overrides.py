"""Admin overrides of a node's model: checking them, and the effective node → model map.

An override is accepted when the node is known (an entry of ``node_requirements.yaml``, exactly
or by pattern) and the model exists and meets the node's hard requirements. ``force`` accepts a
known model that fails the requirements (recorded in the audit log, and the response warns): the
model then serves the node anyway, except for a request that itself needs a capability or a
context window the model lacks. Overrides live in the gateway's
selection signals, so the very next selection sees them.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, cast

from llm_gateway.errors import GatewayError, NoEligibleModel, NotFound, ValidationFailed, echo
from llm_gateway.gateway import LLMGateway
from llm_gateway.model_policy import NodeRequirements
from llm_gateway.model_selector import (
    ModelSelector,
    SelectionContext,
    hard_constraint_failures,
    merge_requirements,
)
from llm_gateway.selection.signals import Override, SelectionSignals, SignalsSnapshot


class AdminRequestRejected(ValidationFailed):
    """422: an admin change that cannot be applied; ``details`` says what failed, per item."""

    def __init__(self, message: str, details: Mapping[str, Any], *, param: str, code: str) -> None:
        super().__init__(message, param=param, code=code)
        self.details = dict(details)

    def extra(self) -> dict[str, Any]:
        return {"details": self.details}


def override_dict(override: Override | None) -> dict[str, Any] | None:
    if override is None:
        return None
    return {
        "model_id": override.model_id,
        "forced": override.forced,
        "actor": override.actor,
        "created_at": override.created_at,
    }


def require_node(gateway: LLMGateway, node: str) -> None:
    """404 (param ``node``) unless the node is configured, exactly or by a pattern entry."""
    if gateway.registry.get_node(node) is None:
        known = ", ".join(sorted(gateway.registry.get_all_nodes()))
        raise NotFound(f"unknown node '{echo(node)}' (configured: {known})", param="node")


def override_problems(gateway: LLMGateway, node: str, model_id: str) -> tuple[bool, list[str]]:
    """``(model_known, failures)``: why ``model_id`` cannot serve ``node`` (empty when it can)."""
    catalog = gateway.registry.catalog
    policy = catalog.policies.get(model_id)
    if policy is None:
        known = ", ".join(sorted(catalog.policies))
        return False, [f"unknown model '{echo(model_id)}' (known: {known})"]
    needs = merge_requirements(catalog, SelectionContext(node_name=node))
    failures = hard_constraint_failures(policy, needs)
    if model_id in gateway.signals.snapshot().disabled:
        failures.append("disabled by an admin")
    return True, failures


def check_override(gateway: LLMGateway, node: str, model_id: str, *, force: bool) -> list[str]:
    """Raise 404/422 when the override must be refused; return warnings when forced through."""
    require_node(gateway, node)
    known, problems = override_problems(gateway, node, model_id)
    if not known:
        raise AdminRequestRejected(
            problems[0], {echo(node): problems}, param="model_id", code="unknown_model"
        )
    if problems and not force:
        raise AdminRequestRejected(
            f"model '{echo(model_id)}' does not meet the requirements of node '{echo(node)}': "
            + "; ".join(problems)
            + ' (send "force": true to set it anyway)',
            {echo(node): problems},
            param="model_id",
            code="requirements_not_met",
        )
    return [
        f"forced past: {p}; the override applies anyway (a request that needs a capability or "
        "context window the model lacks still falls back)"
        for p in problems
    ]


def set_override(
    gateway: LLMGateway, node: str, model_id: str, *, forced: bool, actor: str
) -> Override | None:
    """Install the override; return the one it replaced."""
    override = Override(model_id=model_id, forced=forced, actor=actor, created_at=time.time())
    return gateway.signals.set_override(node, override)


def effective_policies(gateway: LLMGateway) -> dict[str, dict[str, Any]]:
    """For every configured node: its requirements, the model selection now gives it and where
    that comes from.

    ``source`` is ``override`` when an admin override is in force, else ``selection`` (with
    ``selection_source``: the node's ``default_model`` or the best score). ``default_model`` is
    what the files alone would give (selection with no override). ``requirements`` is the node's
    entry of ``node_requirements.yaml`` (:func:`requirements_dict`).
    """
    overrides = gateway.signals.snapshot().overrides
    # The selector only ever reads snapshot(); this view has no writers to offer.
    file_only = ModelSelector(
        gateway.registry, cast(SelectionSignals, _WithoutOverrides(gateway.signals))
    )
    out: dict[str, dict[str, Any]] = {}
    for node, requirements in gateway.registry.get_all_nodes().items():
        entry: dict[str, Any] = {
            "override": override_dict(overrides.get(node)),
            "requirements": requirements_dict(requirements),
        }
        try:
            result = gateway.selector.select(SelectionContext(node_name=node))
            default = file_only.select(SelectionContext(node_name=node))
        except GatewayError as exc:
            entry.update(model_id=None, source="none", error=exc.message)
            out[node] = entry
            continue
        entry.update(
            model_id=result.selected_model.logical_id,
            source="override" if result.source == "override" else "selection",
            selection_source=result.source,
            default_model=default.selected_model.logical_id,
            strategy=result.strategy.value,
            fallback_chain=list(result.fallback_chain),
        )
        if overrides.get(node) is not None and result.source != "override":
            entry["override_skipped"] = [r for r in result.reasons if "override" in r]
        out[node] = entry
    return out


def requirements_dict(requirements: NodeRequirements) -> dict[str, Any]:
    """A node's entry of ``node_requirements.yaml`` as JSON: the hard constraints (required
    capabilities, ``reasoning_required``, context window, cost tier), the preferences that steer
    the score, and the node's optional settings (unset ones as ``null``; ``deadlines`` only
    those the node sets)."""
    return {
        "required_capabilities": sorted(c.value for c in requirements.required_capabilities),
        "reasoning_required": requirements.reasoning_required,
        "preferred_capabilities": sorted(c.value for c in requirements.preferred_capabilities),
        "min_context_window": requirements.min_context_window,
        "max_cost_tier": requirements.max_cost_tier.value,
        "default_model": requirements.default_model,
        "default_strategy": requirements.default_strategy,
        "fallback_outside_requirements": requirements.fallback_outside_requirements,
        "fallback_on_content_filter": requirements.fallback_on_content_filter,
        "cache_ttl_s": requirements.cache_ttl_s,
        "deadlines": requirements.deadlines.model_dump(exclude_none=True),
        "description": requirements.description,
    }


def node_selection_errors(gateway: LLMGateway) -> dict[str, Any]:
    """Nodes for which selection finds no model now, with every model's rejection."""
    errors: dict[str, Any] = {}
    for node in gateway.registry.get_all_nodes():
        try:
            gateway.selector.select(SelectionContext(node_name=node))
        except NoEligibleModel as exc:
            errors[node] = {"message": exc.message, "rejected": exc.rejections}
        except GatewayError as exc:
            errors[node] = {"message": exc.message}
    return errors


class _WithoutOverrides:
    """A view of the gateway's signals with no overrides: what the files alone select."""

    def __init__(self, inner: SelectionSignals) -> None:
        self._inner = inner

    def snapshot(self) -> SignalsSnapshot:
        return dataclasses.replace(self._inner.snapshot(), overrides=MappingProxyType({}))
