"""Admin: the rollout flags — the guide's Phase 5 flags and its rollback plan, at run time.

GET  /flags            the flags in force on this replica, where each comes from (env or
                       admin), who changed them last, and the rollback guard's state
PUT  /flags            any subset of v2_enabled, v2_percentage, node_percentages,
                       shadow_percentage, openrouter_fallback_enabled, pinned (+ "reason");
                       durable, audited, applied on the next request of every replica
POST /flags/rollback   the guide's emergency rollback without a restart: v2 off (0 %), no
                       shadow traffic, no OpenRouter fallback, pinned (the guard stays off)
GET  /flags/arm        which arm a key would take now (?key=&node=), and its bucket

A body that is not valid is a 422 naming the field (an unknown field, a percentage outside
0-100, a node that is not configured); nothing is applied then.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from pydantic import ValidationError

from llm_gateway.audit import AuditLog
from llm_gateway.errors import ValidationFailed, echo
from llm_gateway.rollout.arm import choose_arm
from llm_gateway.rollout.bucketing import bucket_of
from llm_gateway.rollout.flags import FLAG_KIND, ROLLOUT_KEY, FlagsUpdate, RolloutFlags
from llm_gateway.routes.admin_changes import commit_change
from llm_gateway.routes.deps import AdminDep, gateway_of
from llm_gateway.routes.route_classes import GatewayRoute

router = APIRouter(route_class=GatewayRoute)

EMERGENCY = {
    "v2_enabled": False,
    "v2_percentage": 0,
    "node_percentages": {},
    "shadow_percentage": 0,
    "openrouter_fallback_enabled": False,
    "pinned": True,
}


@router.get("/flags", summary="The rollout flags in force, their source and the guard's state")
async def get_flags(request: Request) -> dict[str, Any]:
    return await _view(request)


@router.put("/flags", summary="Change rollout flags at run time (durable, every replica)")
async def put_flags(
    request: Request, caller: AdminDep, body: Annotated[dict[str, Any], Body()]
) -> dict[str, Any]:
    try:
        update = FlagsUpdate.model_validate(body)
    except ValidationError as exc:
        raise _invalid(exc) from None
    fields = update.fields()
    if not fields:
        raise ValidationFailed("name at least one flag to change", param="flags")
    _check_nodes(request, fields.get("node_percentages") or {})
    return await _commit(request, caller, fields, "flags.set", update.reason)


@router.post("/flags/rollback", summary="Emergency rollback: v2 off on every replica, pinned")
async def rollback(
    request: Request, caller: AdminDep, body: Annotated[dict[str, Any] | None, Body()] = None
) -> dict[str, Any]:
    reason = (body or {}).get("reason")
    unknown = sorted(set(body or {}) - {"reason"})
    if unknown:
        raise ValidationFailed(f"unknown field '{unknown[0]}' (expected reason)", param=unknown[0])
    if reason is not None and (not isinstance(reason, str) or len(reason) > 500):
        raise ValidationFailed("reason: a text of at most 500 characters", param="reason")
    return await _commit(request, caller, dict(EMERGENCY), "flags.rollback", reason)


@router.get("/flags/arm", summary="Which arm a stable key takes now, and its bucket")
async def arm_of(request: Request, key: str, node: str | None = None) -> dict[str, Any]:
    flags = gateway_of(request).flags.current()
    if node is not None:
        _check_nodes(request, {node: 0})
    return {
        "key": key,
        "node": node,
        "bucket": bucket_of(key),
        "percentage": flags.percentage_for(node),
        "arm": choose_arm("", key, node=node, flags=flags),
    }


async def _commit(
    request: Request, caller: Any, fields: dict[str, Any], action: str, reason: str | None
) -> dict[str, Any]:
    live = gateway_of(request).flags
    before: RolloutFlags = live.current()
    after = live.merged(fields)  # 422 naming the field when the whole is not valid
    entry = AuditLog.make_entry(
        actor=caller.actor,
        client=caller.client,
        action=action,
        target="rollout",
        before={k: v for k, v in before.model_dump().items() if k in fields},
        after={k: v for k, v in after.model_dump().items() if k in fields},
        detail=reason,
    )
    value = live.overlay_value(fields, caller.actor)
    shared = await commit_change(request, [(FLAG_KIND, ROLLOUT_KEY, value)], entry)
    return {"flags": await _view(request), **shared}


async def _view(request: Request) -> dict[str, Any]:
    gateway = gateway_of(request)
    live = gateway.flags
    overlay = live.overlay
    updated_at = overlay.get("updated_at")
    view: dict[str, Any] = {
        **live.current().model_dump(),
        "source": live.source(),
        "updated_by": overlay.get("updated_by"),
        "updated_at": datetime.fromtimestamp(float(updated_at), UTC).isoformat()
        if updated_at
        else None,
        "defaults": live.defaults.model_dump(),
    }
    service = gateway.rollout
    view["guard"] = (
        await service.view()
        if service is not None
        else {"enabled": False, "state": "off", "rules": [], "last_step": None, "evidence": {}}
    )
    return view


def _check_nodes(request: Request, nodes: dict[str, Any]) -> None:
    catalog = gateway_of(request).registry.catalog
    for node in nodes:
        if node not in catalog.nodes:
            raise ValidationFailed(
                f"node_percentages: unknown node '{echo(node)}' (not in node_requirements.yaml)",
                param=f"node_percentages.{echo(node)}",
                code="unknown_node",
            )


def _invalid(exc: ValidationError) -> ValidationFailed:
    error = exc.errors(include_url=False)[0]
    field = ".".join(str(p) for p in error["loc"]) or "flags"
    message = error["msg"]
    if error["type"] == "extra_forbidden":
        message = "unknown field (writable: v2_enabled, v2_percentage, node_percentages, "
        message += "shadow_percentage, openrouter_fallback_enabled, pinned, reason)"
    return ValidationFailed(f"{field}: {message}", param=field)
