"""Operations: ``GET /healthz`` (the process answers), ``GET /readyz`` (it can serve: the app
started, its config is loaded and the gateway's stores answer) and ``GET /metrics``
(Prometheus exposition of the gateway's ``llm_gateway_*`` metrics).

``/readyz`` is 200 with every check ``"ok"``, else 503 with the failing checks named. The gateway
may offer ``async readiness() -> dict[str, str]`` (store pings: ``"ok"`` or a reason); when it
does, those checks are included.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from fastapi import APIRouter, Request
from pydantic import BaseModel
from starlette.responses import PlainTextResponse, Response

from llm_gateway.http_errors import JSON
from llm_gateway.metrics import CONTENT_TYPE as PROMETHEUS_CONTENT_TYPE
from llm_gateway.routes.deps import gateway_of
from llm_gateway.routes.route_classes import RawRoute

READINESS_TIMEOUT_S = 2.0

router = APIRouter(tags=["operations"])


class Liveness(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    checks: dict[str, str]


async def healthz(request: Request) -> Response:
    return Response(b'{"status":"alive"}', media_type=JSON)


async def readyz(request: Request) -> Response:
    checks = await _readiness_checks(request)
    ready = all(value == "ok" for value in checks.values())
    body: dict[str, Any] = {"status": "ready" if ready else "not_ready", "checks": checks}
    live = getattr(request.app.state, "llm_gateway", None)
    if live is not None and live.settings.use_simulator:
        body["mode"] = "simulated"  # ready, but nothing real answers: said on every probe
    return Response(orjson.dumps(body), status_code=200 if ready else 503, media_type=JSON)


async def metrics(request: Request) -> Response:
    exposition = gateway_of(request).metrics.exposition()
    return Response(exposition, media_type=PROMETHEUS_CONTENT_TYPE)


async def _readiness_checks(request: Request) -> dict[str, str]:
    state = request.app.state
    checks: dict[str, str] = {}
    if getattr(state, "gateway_ready", True) is False:
        checks["app"] = "starting or shutting down"
    try:
        gateway = gateway_of(request)
    except Exception as exc:  # any failure to build the gateway means not ready
        checks["gateway"] = f"cannot build the gateway: {type(exc).__name__}"
        return checks
    checks["config"] = "ok" if gateway.registry.get_all_policies() else "no model configured"
    probe = getattr(gateway, "readiness", None)
    if probe is not None:
        checks.update(await _probe(probe))
    return checks


async def _probe(probe: Any) -> dict[str, str]:
    try:
        result = await asyncio.wait_for(probe(), READINESS_TIMEOUT_S)
    except TimeoutError:
        return {"stores": f"no answer within {READINESS_TIMEOUT_S:g} s"}
    except Exception as exc:  # a probe that fails means a dependency is not reachable
        return {"stores": f"probe failed: {type(exc).__name__}"}
    return {str(name): str(value) for name, value in dict(result).items()}


router.add_api_route(
    "/healthz",
    healthz,
    methods=["GET"],
    route_class_override=RawRoute,
    response_model=Liveness,
    summary="The process is alive",
)
router.add_api_route(
    "/readyz",
    readyz,
    methods=["GET"],
    route_class_override=RawRoute,
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "Not ready; the failing checks"}},
    summary="Config loaded and stores reachable",
)
router.add_api_route(
    "/metrics",
    metrics,
    methods=["GET"],
    route_class_override=RawRoute,
    summary="Prometheus metrics",
    response_class=PlainTextResponse,
)
