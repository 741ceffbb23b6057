"""Admin: the node → model map, overrides, bulk updates, reload, and the audit log.

Every change is written to the audit log (who, what, before, after, when). An override takes
effect for the very next request: it lives in the selection signals, whose version keys the
selection cache.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from fastapi import APIRouter, Query, Request

from llm_gateway.audit import AuditEntry
from llm_gateway.config_reload import reload_alerts, reload_files, reload_rollout
from llm_gateway.errors import GatewayError, echo
from llm_gateway.gateway import LLMGateway
from llm_gateway.model_selector import SelectionContext
from llm_gateway.routes.admin_changes import OVERRIDE, commit_change, control_of
from llm_gateway.routes.admin_models import (
    AuditOut,
    BulkOut,
    BulkUpdateRequest,
    OverrideOut,
    OverrideRequest,
    PoliciesOut,
    ReloadOut,
)
from llm_gateway.routes.deps import AdminCaller, AdminDep, gateway_of, services_of
from llm_gateway.routes.overrides import (
    AdminRequestRejected,
    check_override,
    effective_policies,
    override_dict,
    override_problems,
    require_node,
)
from llm_gateway.routes.route_classes import GatewayRoute
from llm_gateway.selection.signals import Override
from llm_gateway.storage.runtime import RecordStoreUnavailable

logger = logging.getLogger("llm_gateway.admin")

router = APIRouter(route_class=GatewayRoute)


@router.get("/policies", response_model=PoliciesOut, summary="Effective node → model map")
async def get_policies(request: Request) -> dict[str, Any]:
    """File defaults plus overrides: what each node gets now, and why."""
    gateway = gateway_of(request)
    nodes = effective_policies(gateway)
    return {
        "config_version": gateway.registry.version,
        "effective": {node: entry["model_id"] for node, entry in nodes.items()},
        "nodes": nodes,
    }


@router.put("/policies/bulk", response_model=BulkOut, summary="Set several overrides at once")
async def bulk_update(
    body: BulkUpdateRequest, request: Request, caller: AdminDep
) -> dict[str, Any]:
    """All or nothing: one bad entry rejects the whole update (422 naming each bad entry)."""
    gateway = gateway_of(request)
    warnings = _check_bulk(gateway, body)
    overrides = {
        node: Override(model_id, body.force, caller.actor, time.time())
        for node, model_id in body.updates.items()
    }
    current = gateway.signals.snapshot().overrides
    befores = {n: override_dict(current.get(n)) for n in body.updates}
    entry = services_of(request).audit.make_entry(
        actor=caller.actor,
        client=caller.client,
        action="override.bulk",
        target=",".join(body.updates)[:256],
        before=befores,
        after={n: override_dict(o) for n, o in overrides.items()},
        forced=body.force,
        detail=body.reason,
    )
    changes = [(OVERRIDE, node, override_dict(o)) for node, o in overrides.items()]
    # One change of the control state: no request on any replica sees half of the update.
    shared = await commit_change(request, changes, entry)
    applied = {
        node: {
            "before": befores[node],
            "after": override_dict(override),
            "effective_model": _effective_model(gateway, node),
        }
        for node, override in overrides.items()
    }
    return {"applied": applied, "warnings": warnings, **shared}


@router.put("/policies/{node}", response_model=OverrideOut, summary="Override a node's model")
async def put_override(
    node: str,
    body: OverrideRequest,
    request: Request,
    caller: AdminDep,
) -> dict[str, Any]:
    """422 with the reason for an unknown model or one failing the node's hard requirements
    (unless ``force``); 404 for an unknown node."""
    gateway = gateway_of(request)
    warnings = check_override(gateway, node, body.model_id, force=body.force)
    change = await _apply(gateway, request, caller, node, body.model_id, body.force, body.reason)
    return {
        "node": node,
        "mode": body.mode,
        **change,
        "effective_model": _effective_model(gateway, node),
        "warnings": warnings,
    }


@router.delete("/policies/{node}", response_model=OverrideOut, summary="Remove a node's override")
async def delete_override(node: str, request: Request, caller: AdminDep) -> dict[str, Any]:
    """Back to the files' choice. ``removed`` is false when there was no override."""
    gateway = gateway_of(request)
    require_node(gateway, node)
    before = override_dict(gateway.signals.snapshot().overrides.get(node))
    if before is not None:
        entry = services_of(request).audit.make_entry(
            actor=caller.actor,
            client=caller.client,
            action="override.delete",
            target=node,
            before=before,
            after=None,
        )
        shared = await commit_change(request, [(OVERRIDE, node, None)], entry)
    else:
        shared = {}
    return {
        **shared,
        "node": node,
        "removed": before is not None,
        "before": before,
        "after": None,
        "effective_model": _effective_model(gateway, node),
    }


@router.post("/policies/reload", response_model=ReloadOut, summary="Reload the config files")
async def reload_policies(
    request: Request,
    caller: AdminDep,
    force: bool = Query(
        False, description="Apply even a configuration that has no model or drops nodes"
    ),
) -> dict[str, Any]:
    """Swap in the files' current content; on any issue answer 422 and keep the old config.

    The files are read and checked in a worker thread, within a time bound. A configuration
    that would leave no model, or remove nodes that are defined now (what an emptied or
    truncated file looks like), is refused unless ``force=true`` (audited as forced).
    """
    gateway = gateway_of(request)
    registry = gateway.registry
    before = registry.version
    alerts = await reload_alerts(gateway)
    rollout = await reload_rollout(gateway)
    problems = await reload_files(gateway, force)
    warnings = [
        f"override {node} → {o.model_id}: {'; '.join(unmet)}"
        for node, o in gateway.signals.snapshot().overrides.items()
        for unmet in [override_problems(gateway, node, o.model_id)[1]]
        if unmet
    ]
    if alerts is not None and alerts["status"] == "kept":
        warnings.append(f"alerts not reloaded, the previous rules stay: {alerts['error']}")
    if rollout is not None and rollout["status"] == "kept":
        warnings.append(f"rollout.yaml not reloaded, the guard's rules stay: {rollout['error']}")
    entry = services_of(request).audit.make_entry(
        actor=caller.actor,
        client=caller.client,
        action="config.reload",
        target=str(registry.config_dir),
        before={"config_version": before},
        after={"config_version": registry.version},
        forced=bool(force and problems),
        detail="; ".join(problems) if force and problems else None,
    )
    await _record_reload(request, gateway, caller, entry)
    control = control_of(request)
    own = {"status": "reloaded", "config_version": registry.version, "alerts": alerts}
    replicas = await control.reload_all(force, own) if control is not None else []
    logger.info(
        "config reloaded by %s: %s → %s; replicas: %s",
        caller.actor,
        before,
        registry.version,
        ", ".join(f"{r.get('replica')} {r.get('status')}" for r in replicas) or "this one",
    )
    return {
        "replicas": replicas or [{"replica": "this", **own}],
        "status": "reloaded",
        "config_version_before": before,
        "config_version": registry.version,
        "models": len(registry.get_all_policies()),
        "nodes": len(registry.get_all_nodes()),
        "alerts": alerts,
        "rollout": rollout,
        "warnings": warnings,
    }


async def _record_reload(
    request: Request, gateway: LLMGateway, caller: AdminCaller, entry: AuditEntry
) -> None:
    """The files are the truth of a reload, applied already: recording it is best effort."""
    records = gateway.records
    try:
        if records is not None:
            registry = gateway.registry
            await records.record_config(registry.version, str(registry.config_dir), caller.actor)
        await commit_change(request, [], entry)
    except RecordStoreUnavailable as exc:
        logger.error("config reload applied but not recorded: %s", exc.message)
        services_of(request).audit.remember(entry)


@router.get("/audit", response_model=AuditOut, summary="The audit log of admin changes")
async def get_audit(
    request: Request,
    limit: int = Query(100, ge=1, le=1000),
    action: str | None = Query(None, max_length=64),
    target: str | None = Query(None, max_length=256),
) -> dict[str, Any]:
    """Newest first (from the record store when there is one: every replica's changes)."""
    records = gateway_of(request).records
    if records is not None:
        rows = await records.store.list_audit(limit=limit, action=action, target=target)
        return {"count": len(rows), "entries": rows}
    entries = services_of(request).audit.entries(limit=limit, action=action, target=target)
    return {"count": len(entries), "entries": [entry.as_dict() for entry in entries]}


def _check_bulk(gateway: LLMGateway, body: BulkUpdateRequest) -> dict[str, list[str]]:
    failures: dict[str, list[str]] = {}
    warnings: dict[str, list[str]] = {}
    for node, model_id in body.updates.items():
        if gateway.registry.get_node(node) is None:
            failures[echo(node)] = [f"unknown node '{echo(node)}'"]
            continue
        known, problems = override_problems(gateway, node, model_id)
        if not known or (problems and not body.force):
            failures[echo(node)] = problems
        elif problems:
            warnings[echo(node)] = problems
    if failures:
        detail = "; ".join(f"{node}: {', '.join(why)}" for node, why in failures.items())
        raise AdminRequestRejected(
            f"bulk update rejected, nothing was changed: {detail}",
            failures,
            param=f"updates.{next(iter(failures))}",
            code="bulk_update_rejected",
        )
    return warnings


async def _apply(
    gateway: LLMGateway,
    request: Request,
    caller: AdminCaller,
    node: str,
    model_id: str,
    forced: bool,
    reason: str | None,
) -> dict[str, Any]:
    override = Override(
        model_id=model_id, forced=forced, actor=caller.actor, created_at=time.time()
    )
    after = override_dict(override)
    before = override_dict(gateway.signals.snapshot().overrides.get(node))
    entry = services_of(request).audit.make_entry(
        actor=caller.actor,
        client=caller.client,
        action="override.set",
        target=node,
        before=before,
        after=after,
        forced=forced,
        detail=reason,
    )
    shared = await commit_change(request, [(OVERRIDE, node, after)], entry)
    return {"before": before, "after": after, **shared}


def _effective_model(gateway: LLMGateway, node: str) -> str | None:
    try:
        return gateway.selector.select(SelectionContext(node_name=node)).selected_model.logical_id
    except GatewayError:
        return None
