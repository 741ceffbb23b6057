"""Admin: switching a catalogue model off and on at run time.

    GET /models                    the catalogue: each model's tier, context, prices, and state
    PUT /models/{model_id}         {"enabled": false, "reason"?} — durable and audited

A disabled model is never selected nor used as a fallback until it is enabled again. Like an
override, the switch is written to the record store (with its audit entry) before it applies,
and restored at start-up.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from pydantic import Field

from llm_gateway.errors import NotFound, echo
from llm_gateway.routes.admin_changes import DISABLED, commit_change
from llm_gateway.routes.admin_models import _Body
from llm_gateway.routes.deps import AdminDep, gateway_of, services_of
from llm_gateway.routes.route_classes import GatewayRoute

router = APIRouter(route_class=GatewayRoute)


class ModelSwitch(_Body):
    enabled: bool
    reason: str | None = Field(None, max_length=500, description="Kept in the audit log.")


@router.get("/models", summary="The catalogue and each model's run-time state")
async def list_models(request: Request) -> dict[str, Any]:
    gateway = gateway_of(request)
    snapshot = gateway.signals.snapshot()
    models = []
    for policy in gateway.registry.catalog.policies.values():
        stats = snapshot.stats.get(policy.logical_id)
        models.append(
            {
                "model_id": policy.logical_id,
                "provider": policy.provider,
                "provider_model_id": policy.provider_model_id,
                "cost_tier": policy.cost_tier.value,
                "context_window": policy.context_window,
                "capabilities": sorted(c.value for c in policy.capabilities),
                "input_cost_per_1k": f"{policy.input_cost_per_1k:f}",
                "output_cost_per_1k": f"{policy.output_cost_per_1k:f}",
                "cached_input_cost_per_1k": _price(policy.cached_input_cost_per_1k),
                "reasoning_cost_per_1k": _price(policy.reasoning_cost_per_1k),
                "max_output_tokens": policy.max_output_tokens,
                "quality_score": policy.effective_quality,
                "quality_declared": policy.quality_score is not None,
                "typical_latency_ms": policy.typical_latency_ms,
                "fallback_models": list(policy.fallback_models),
                "rpm": policy.rpm,
                "tpm": policy.tpm,
                "description": policy.description,
                "enabled_in_files": policy.enabled,
                "disabled_by_admin": policy.logical_id in snapshot.disabled,
                "circuit_open": policy.logical_id in snapshot.unavailable,
                "observed": None
                if stats is None
                else {
                    "latency_ms": round(stats.latency_ms, 1),
                    "error_rate": round(stats.error_rate, 4),
                    "samples": stats.samples,
                },
            }
        )
    return {"count": len(models), "models": models}


def _price(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:f}"


@router.put("/models/{model_id}", summary="Disable or enable a model at run time")
async def switch_model(
    model_id: str, body: ModelSwitch, request: Request, caller: AdminDep
) -> dict[str, Any]:
    """404 for a model the catalogue does not have. Idempotent: the same state is no change."""
    gateway = gateway_of(request)
    if model_id not in gateway.registry.catalog.policies:
        known = ", ".join(sorted(gateway.registry.catalog.policies))
        raise NotFound(f"unknown model '{echo(model_id)}' (known: {known})", param="model_id")
    was_disabled = model_id in gateway.signals.snapshot().disabled
    changed = was_disabled == body.enabled
    if changed:
        entry = services_of(request).audit.make_entry(
            actor=caller.actor,
            client=caller.client,
            action="model.enable" if body.enabled else "model.disable",
            target=model_id,
            before={"enabled": not was_disabled},
            after={"enabled": body.enabled},
            detail=body.reason,
        )
        value = None if body.enabled else {"disabled": True, "reason": body.reason}
        shared = await commit_change(request, [(DISABLED, model_id, value)], entry)
    else:
        shared = {}
    return {"model_id": model_id, "enabled": body.enabled, "changed": changed, **shared}
