"""Admin: budgets.

GET    /budgets            every capped scope and period: cap, spent, reserved, remaining,
                           reset (the shared counters, every replica's spend)
PUT    /budgets/{scope}    {"hour"?, "day"?, "month"?, "warn_at"?, "output_cap"?, "reason"?}
                           replaces the files' caps of ``scope`` (``gateway``, ``node:<n>``,
                           ``key:<name>``, ``model:<id>``); audited, durable, on every replica
DELETE /budgets/{scope}    back to the files' caps for ``scope``
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from pydantic import ConfigDict, Field

from llm_gateway.budgets.config import ScopeSpec, parse_scope_id
from llm_gateway.budgets.report import last_known_report
from llm_gateway.errors import GatewayError, NotFound, ValidationFailed, echo
from llm_gateway.routes.admin_changes import commit_change
from llm_gateway.routes.deps import AdminDep, gateway_of, services_of
from llm_gateway.routes.route_classes import GatewayRoute
from llm_gateway.state.base import StateUnavailable
from llm_gateway.storage.runtime import BUDGET

router = APIRouter(route_class=GatewayRoute)


class BudgetRequest(ScopeSpec):
    """The caps of one scope (a period left out has none), and why."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    reason: str | None = Field(default=None, max_length=500)


class BudgetsUnavailable(GatewayError):
    status_code = 503
    error_type = "service_unavailable"
    code = "budget_unavailable"


@router.get("/budgets", summary="Budgets: caps, spend, reservations, remaining and reset")
async def list_budgets(request: Request) -> dict[str, Any]:
    manager = _manager(request)
    try:
        budgets = await manager.report()
        error = None
    except StateUnavailable as exc:
        budgets, error = last_known_report(manager), str(exc)
    return {
        "fail_mode": manager.fail_mode,
        "available": manager.unavailable is None and error is None,
        "error": error or manager.unavailable,
        "budgets": budgets,
        "admin": {scope: _caps(spec) for scope, spec in manager.admin.items()},
    }


@router.put("/budgets/{scope}", summary="Set a budget scope's caps (replacing the files')")
async def put_budget(
    scope: str, body: BudgetRequest, request: Request, caller: AdminDep
) -> dict[str, Any]:
    manager = _manager(request)
    _check_scope(request, scope)
    spec = ScopeSpec.model_validate(body.model_dump(exclude={"reason"}))
    value = {**_caps(spec), "actor": caller.actor, "at": time.time()}
    before = manager.admin.get(scope)
    entry = services_of(request).audit.make_entry(
        actor=caller.actor,
        client=caller.client,
        action="budget.set",
        target=scope,
        before=_caps(before) if before is not None else _file_caps(manager, scope),
        after=_caps(spec),
        detail=body.reason,
    )
    shared = await commit_change(request, [(BUDGET, scope, value)], entry)
    return {**shared, "scope": scope, "caps": _caps(spec)}


@router.delete("/budgets/{scope}", summary="Back to the files' caps for a budget scope")
async def delete_budget(scope: str, request: Request, caller: AdminDep) -> dict[str, Any]:
    manager = _manager(request)
    _check_scope(request, scope)
    before = manager.admin.get(scope)
    if before is None:
        raise NotFound(f"no admin budget for '{echo(scope)}'", param="scope")
    entry = services_of(request).audit.make_entry(
        actor=caller.actor,
        client=caller.client,
        action="budget.delete",
        target=scope,
        before=_caps(before),
        after=_file_caps(manager, scope),
    )
    shared = await commit_change(request, [(BUDGET, scope, None)], entry)
    return {**shared, "scope": scope, "removed": True, "caps": _file_caps(manager, scope)}


def _manager(request: Request) -> Any:
    manager = gateway_of(request).budgets
    if manager is None:
        raise BudgetsUnavailable("budgets are not running in this process")
    return manager


def _check_scope(request: Request, scope: str) -> None:
    try:
        kind, name = parse_scope_id(scope)
    except ValueError as exc:
        raise ValidationFailed(str(exc), param="scope", code="invalid_scope") from None
    catalog = gateway_of(request).registry.catalog
    if kind == "node" and name not in catalog.nodes:
        raise NotFound(f"unknown node '{echo(name)}'", param="scope")
    if kind == "model" and name not in catalog.policies:
        raise NotFound(f"unknown model '{echo(name)}'", param="scope")


def _caps(spec: ScopeSpec) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in spec.model_dump(exclude_none=True).items():
        out[name] = f"{value:f}" if isinstance(value, Decimal) else value
    if "warn_at" in out:
        out["warn_at"] = list(out["warn_at"])
    return out


def _file_caps(manager: Any, scope: str) -> dict[str, Any] | None:
    spec = manager._file.scopes.get(scope)
    return _caps(spec) if spec is not None else None
