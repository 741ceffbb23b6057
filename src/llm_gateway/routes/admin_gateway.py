"""``admin_gateway_router``: the migration guide's Admin Operations Guide, under
``/api/admin/gateway``, every endpoint behind ``Authorization: Bearer <GATEWAY_ADMIN_TOKEN>``
(401 without it, 403 with a wrong one, 429 with Retry-After once a client keeps failing).

    GET    /health                    gateway health
    POST   /test-selection            {"node_name", "capabilities", "strategy"?} → selection
    GET    /cost-optimization         savings per node from the ledger
    GET    /traces?hours=1            recent traces and metrics
    GET    /traces/{trace_id}         one trace
    GET    /policies                  effective node → model map
    PUT    /policies/bulk             {"updates": {node: model_id}} — all or nothing
    PUT    /policies/{node}           {"model_id", "mode": "override", "force"?}
    DELETE /policies/{node}           remove the override
    POST   /policies/reload           reload the config files (old config kept on error)
    GET    /validate                  config files and live state
    GET    /recommendations/{node}    ranked options for a node
    GET    /audit                     who changed what, when
    GET    /models                    the catalogue and each model's run-time state
    PUT    /models/{model_id}         {"enabled": false} — disable or enable a model (durable)
    GET    /replicas                  live replicas, their versions and heartbeats
    GET    /metrics?hours=            trace metrics over a window (from the ledger)
    GET    /ledger?from=&to=          ledger rows, paged (JSON or CSV)
    GET    /spend?hours=&by=node      spend over time per node or model (exact, from the ledger)
    GET    /budgets                   caps, spent, reserved, remaining and reset per scope
    PUT    /budgets/{scope}           replace a scope's caps (audited, durable, every replica)
    DELETE /budgets/{scope}           back to budgets.yaml's caps for the scope
    GET    /alerts                    alert rules, state, last firing, incident history
    POST   /alerts/{name}/test        send a test notification through a rule's actions
    GET    /shadow                    shadow traffic: v2 beside v1, compared (issue 12)
    GET    /flags                     rollout flags, their source, the rollback guard's state
    PUT    /flags                     change flags at run time (durable, every replica)
    POST   /flags/rollback            emergency rollback: v2 off, pinned, every replica
    GET    /flags/arm?key=&node=      which arm a stable key takes now

A host application includes it as is (``app.include_router(admin_gateway_router)``).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from llm_gateway.routes import (
    admin_alerts,
    admin_budgets,
    admin_catalog,
    admin_flags,
    admin_insights,
    admin_policies,
    admin_records,
    admin_replicas,
    admin_shadow,
)
from llm_gateway.routes.deps import require_admin
from llm_gateway.routes.openai_schema import ErrorResponse
from llm_gateway.routes.route_classes import GatewayRoute

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse, "description": "No bearer token"},
    403: {"model": ErrorResponse, "description": "Wrong admin token"},
    404: {"model": ErrorResponse, "description": "Unknown node or trace"},
    422: {"model": ErrorResponse, "description": "Invalid body, or a change that was refused"},
    429: {
        "model": ErrorResponse,
        "description": "Too many failed authentications from this client (Retry-After)",
    },
}

admin_gateway_router = APIRouter(
    prefix="/api/admin/gateway",
    tags=["admin"],
    dependencies=[Depends(require_admin)],
    responses=_ERRORS,
    route_class=GatewayRoute,
)
admin_gateway_router.include_router(admin_insights.router)
admin_gateway_router.include_router(admin_policies.router)
admin_gateway_router.include_router(admin_records.router)
admin_gateway_router.include_router(admin_catalog.router)
admin_gateway_router.include_router(admin_replicas.router)
admin_gateway_router.include_router(admin_budgets.router)
admin_gateway_router.include_router(admin_alerts.router)
admin_gateway_router.include_router(admin_shadow.router)
admin_gateway_router.include_router(admin_flags.router)

__all__ = ["admin_gateway_router"]
