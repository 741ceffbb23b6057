"""Admin: the replicas sharing this deployment's state.

GET /replicas     every live replica: id, host, pid, control and config versions, heartbeat
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request

from llm_gateway.routes.admin_changes import control_of
from llm_gateway.routes.route_classes import GatewayRoute
from llm_gateway.state.base import StateUnavailable

router = APIRouter(route_class=GatewayRoute)


@router.get("/replicas", summary="Live replicas, their versions and last heartbeat")
async def list_replicas(request: Request) -> dict[str, Any]:
    control = control_of(request)
    if control is None:
        return {"backend": None, "this_replica": None, "count": 1, "replicas": []}
    now = time.time()
    try:
        replicas = await control.replicas()
        error = None
    except StateUnavailable as exc:
        replicas, error = [], str(exc)
    for replica in replicas:
        replica["heartbeat_age_s"] = round(max(0.0, now - float(replica.get("at", now))), 3)
        replica["this"] = replica["id"] == control.replica_id
    return {
        "backend": control.store.backend,
        "this_replica": control.replica_id,
        "control_version": control.applied_version,
        "count": len(replicas),
        "replicas": replicas,
        "error": error or control.degraded_reason,
    }
