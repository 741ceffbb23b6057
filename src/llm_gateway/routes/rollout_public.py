"""``GET /v1/rollout``: the rollout flags in force, for legacy clients in other processes.

A legacy shim (:func:`llm_gateway.llm_service.get_llm_client`) in an application that reaches
the gateway over ``GATEWAY_URL`` decides v1 or v2 itself, before any request reaches the gateway;
it follows the gateway's live flags by reading this (with a client key, like ``/v1/models``),
so an admin's ``PUT /flags`` or emergency rollback reaches it within its poll interval, without
a restart. Nothing here is secret: the switch, the percentages and the shadow share.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Security

from llm_gateway.rollout.flags import flags_from_settings
from llm_gateway.rollout.remote_flags import PUBLIC_FIELDS
from llm_gateway.routes.deps import client_bearer, gateway_of

router = APIRouter()


@router.get(
    "/v1/rollout",
    dependencies=[Security(client_bearer)],
    summary="The rollout flags in force (master switch, percentages), for legacy clients",
)
async def rollout_flags(request: Request) -> dict[str, Any]:
    gateway = gateway_of(request)
    live = getattr(gateway, "flags", None)
    flags = live.current() if live is not None else flags_from_settings(gateway.settings)
    values = flags.model_dump()
    return {name: values[name] for name in PUBLIC_FIELDS}
