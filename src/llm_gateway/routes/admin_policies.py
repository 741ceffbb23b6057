"""Admin: the node → model map, overrides, bulk updates, reload, and the audit log.

Every change is written to the audit log (who, what, before, after, when). An override takes
effect for the very next request: it lives in the selection signals, whose version keys the
selection cache.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Query, Request

from llm_gateway.audit import AuditEntry
from llm_gateway.config.catalog import Catalog
from llm_gateway.config.reading import ConfigReadTimeout, read_catalog, shrinking_problems
from llm_gateway.errors import ConfigError, GatewayError, echo
from llm_gateway.gateway import LLMGateway
from llm_gateway.model_selector import SelectionContext
from llm_gateway.routes.admin_changes import OVERRIDE, commit_change
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
    entry = services_of(request).audit.make_entry(
        actor=caller.actor,
        client=caller.client,
        action="override.bulk",
        target=",".join(body.updates)[:256],
        before={
            n: override_dict(gateway.signals.snapshot().overrides.get(n)) for n in body.updates
        },
        after={n: override_dict(o) for n, o in overrides.items()},
        forced=body.force,
        detail=body.reason,
    )
    changes = [(OVERRIDE, node, override_dict(o)) for node, o in overrides.items()]
    await commit_change(request, changes, entry)
    applied: dict[str, dict[str, Any]] = {}
    # No await between the sets: no request of this process can see half of the update.
    for node, override in overrides.items():
        before = override_dict(gateway.signals.set_override(node, override))
        applied[node] = {"before": before, "after": override_dict(override)}
    for node, change in applied.items():
        change["effective_model"] = _effective_model(gateway, node)
    return {"applied": applied, "warnings": warnings}


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
        await commit_change(request, [(OVERRIDE, node, None)], entry)
        gateway.signals.clear_override(node)
    return {
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
    async with _RELOADS:
        catalog = await _read_for_reload(registry.reload_dir)
        problems = shrinking_problems(registry.catalog, catalog)
        if problems and not force:
            raise AdminRequestRejected(
                "configuration not reloaded: " + "; ".join(problems) + " (send force=true to "
                "apply it anyway); the previous one stays live",
                {"issues": problems},
                param="config",
                code="reload_would_remove",
            )
        registry.install(catalog)
    warnings = [
        f"override {node} → {o.model_id}: {'; '.join(problems)}"
        for node, o in gateway.signals.snapshot().overrides.items()
        for problems in [override_problems(gateway, node, o.model_id)[1]]
        if problems
    ]
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
    return {
        "status": "reloaded",
        "config_version_before": before,
        "config_version": registry.version,
        "models": len(registry.get_all_policies()),
        "nodes": len(registry.get_all_nodes()),
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


_RELOADS = asyncio.Lock()  # one reload at a time: the second sees the first's result


async def _read_for_reload(config_dir: Path | None) -> Catalog:
    try:
        return await read_catalog(config_dir)
    except ConfigError as exc:
        raise AdminRequestRejected(
            f"configuration not reloaded ({len(exc.issues)} issue(s)); the previous one stays live",
            {"issues": [str(issue) for issue in exc.issues]},
            param="config",
            code="invalid_config",
        ) from None
    except ConfigReadTimeout as exc:
        raise AdminRequestRejected(
            f"configuration not reloaded: {exc}; the previous one stays live",
            {"issues": [str(exc)]},
            param="config",
            code="reload_timeout",
        ) from None


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
    entry = services_of(request).audit.make_entry(
        actor=caller.actor,
        client=caller.client,
        action="override.set",
        target=node,
        before=override_dict(gateway.signals.snapshot().overrides.get(node)),
        after=after,
        forced=forced,
        detail=reason,
    )
    await commit_change(request, [(OVERRIDE, node, after)], entry)
    before = override_dict(gateway.signals.set_override(node, override))
    return {"before": before, "after": after}


def _effective_model(gateway: LLMGateway, node: str) -> str | None:
    try:
        return gateway.selector.select(SelectionContext(node_name=node)).selected_model.logical_id
    except GatewayError:
        return None
