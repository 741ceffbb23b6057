"""The rollout's routes for legacy clients in other processes (client key, not admin):

- ``GET /v1/rollout`` — the rollout flags in force. A legacy shim
  (:func:`llm_gateway.llm_service.get_llm_client`) in an application that reaches the gateway
  over ``GATEWAY_URL`` decides v1 or v2 itself, before any request reaches the gateway; it
  follows the gateway's live flags by reading this, so an admin's ``PUT /flags`` or emergency
  rollback reaches it within its poll interval, without a restart. Nothing here is secret: the
  switch, the percentages and the shadow share.
- ``POST /v1/rollout/records`` — the records of that shim's v1 calls (made directly, not
  through the gateway), written to this gateway's ledger and traces with arm ``v1``
  (:mod:`llm_gateway.rollout.v1_intake`), so the rollback guard and the cost report see them.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Security

from llm_gateway.rollout.flags import flags_from_settings
from llm_gateway.rollout.remote_flags import PUBLIC_FIELDS
from llm_gateway.rollout.v1_intake import v1_intake_of
from llm_gateway.rollout.v1_wire import MAX_BATCH, RECORDS_PATH, V1RecordBatch
from llm_gateway.routes.deps import client_bearer, client_identity, gateway_of
from llm_gateway.routes.route_classes import GatewayRoute

router = APIRouter(route_class=GatewayRoute)


def _caller_key(request: Request) -> str | None:
    """The client key's name (401 without a valid key when keys are configured), checked
    before the body is read."""
    return client_identity(request)


CallerKey = Annotated[str | None, Depends(_caller_key)]


@router.get(
    "/v1/rollout",
    dependencies=[Security(client_bearer)],
    summary="The rollout flags in force (master switch, percentages), for legacy clients",
)
async def rollout_flags(request: Request, _key: CallerKey) -> dict[str, Any]:
    gateway = gateway_of(request)
    live = getattr(gateway, "flags", None)
    flags = live.current() if live is not None else flags_from_settings(gateway.settings)
    values = flags.model_dump()
    return {name: values[name] for name in PUBLIC_FIELDS}


@router.post(
    RECORDS_PATH,
    dependencies=[Security(client_bearer)],
    summary="Records of legacy v1 calls made in another process, for this gateway's ledger",
    description=(
        f"At most {MAX_BATCH} records. Each id is stored once (a resent record counts under "
        "`duplicates`); arm `v1`; the model must be in the catalogue and the node known; a "
        "list-price cost is recomputed from the catalogue. 422 names the first invalid field "
        "(`records[3].model`) and nothing is written."
    ),
)
async def report_v1_records(
    request: Request, key_name: CallerKey, batch: V1RecordBatch
) -> dict[str, int]:
    result = await v1_intake_of(gateway_of(request)).accept(batch, key_name)
    return {"accepted": result.accepted, "duplicates": result.duplicates}
