"""Admin: the alert rules of ``alerts.yaml`` and their incidents.

    GET  /alerts?history=50        rules, their state and last firing, the evaluator, history
    POST /alerts/{name}/test       send a test notification through the rule's actions

An auto-disabled model comes back with ``PUT /models/{model_id}`` ``{"enabled": true}``.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Query, Request

from llm_gateway.errors import NotFound, echo
from llm_gateway.routes.admin_changes import commit_change
from llm_gateway.routes.deps import AdminDep, gateway_of, services_of
from llm_gateway.routes.route_classes import GatewayRoute
from llm_gateway.storage.runtime import RecordStoreUnavailable

logger = logging.getLogger("llm_gateway.admin")

router = APIRouter(route_class=GatewayRoute)


def _service(request: Request) -> Any:
    return getattr(gateway_of(request), "alerts", None)


@router.get("/alerts", summary="Alert rules, their state, last firing and history")
async def list_alerts(
    request: Request, history: int = Query(50, ge=0, le=1000, description="Incidents, newest first")
) -> dict[str, Any]:
    service = _service(request)
    if service is None:
        return {"file": None, "rules": [], "history": [], "error": "alerts are not running"}
    state: dict[str, Any] = await service.state(history_limit=history)
    return state


@router.post("/alerts/{name}/test", summary="Send a test notification through a rule's actions")
async def test_alert(name: str, request: Request, caller: AdminDep) -> dict[str, Any]:
    """404 for a rule the file does not have; per action ``sent`` or why not."""
    service = _service(request)
    rule = service.rules.get(name) if service is not None else None
    if rule is None:
        known = ", ".join(r.name for r in service.rules.rules) if service is not None else ""
        raise NotFound(
            f"unknown alert rule '{echo(name)}' (known: {known or 'none'})", param="name"
        )
    results = await service.test(rule)
    audit = services_of(request).audit
    entry = audit.make_entry(
        actor=caller.actor,
        client=caller.client,
        action="alert.test",
        target=name,
        before=None,
        after=results,
    )
    # The notifications went out already: recording the test is best effort, but it goes to
    # the record store like every other entry, so GET /audit shows it on every replica.
    try:
        await commit_change(request, [], entry)
    except RecordStoreUnavailable as exc:
        logger.error("alert test of %s sent but not recorded: %s", name, exc.message)
        audit.remember(entry)
    return {
        "rule": name,
        "results": results,
        "delivered": all(v == "sent" or v.startswith("skipped") for v in results.values()),
    }
