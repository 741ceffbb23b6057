"""Connecting a serving gateway to its record store, and restoring what it holds.

At start-up (the app's lifespan): open the store (schema checked, spool replayed), attach it to
the gateway (every request's ledger row, sampled traces), apply the durable admin state —
overrides and disabled models — to the selection signals, seed the observed latency and error
rates from the ledger, record the config version applied, and start the retention job. At
shutdown: stop the job and flush the writer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from llm_gateway.config_reload import reload_on_replica
from llm_gateway.gateway import LLMGateway
from llm_gateway.selection.signals import Override
from llm_gateway.settings import Settings
from llm_gateway.state import open_state_store
from llm_gateway.state.control import ControlPlane
from llm_gateway.storage import queries
from llm_gateway.storage.retention import RetentionJob
from llm_gateway.storage.runtime import BUDGET, DISABLED, FLAG, OVERRIDE, GatewayRecords

logger = logging.getLogger("llm_gateway.storage")

SEED_WINDOW_HOURS = 24.0


class DurableState:
    """The records of one serving gateway and the jobs that keep them."""

    def __init__(self, records: GatewayRecords, retention: RetentionJob) -> None:
        self.records = records
        self.retention = retention
        self._task: asyncio.Task[None] | None = None

    @classmethod
    async def open(cls, settings: Settings, gateway: LLMGateway) -> DurableState | None:
        if settings.database_url is None:
            return None
        records = await GatewayRecords.open(settings)
        gateway.attach_records(records)
        await restore(gateway, records)
        with contextlib.suppress(Exception):
            await records.record_config(
                gateway.registry.version, str(gateway.registry.config_dir), "startup"
            )
        retention = RetentionJob(
            records.store,
            trace_hours=settings.GATEWAY_METRICS_RETENTION_HOURS,
            ledger_days=settings.GATEWAY_LEDGER_RETENTION_DAYS,
        )
        state = cls(records, retention)
        state._task = asyncio.create_task(retention.run_forever(), name="llm-gateway-retention")
        logger.info(
            "record store %s (schema %s): ledger and traces kept there",
            records.store.description,
            records.revision,
        )
        return state

    async def aclose(self, gateway: LLMGateway) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.records.aclose()
        if gateway.records is self.records:
            gateway.attach_records(None)


async def restore(gateway: LLMGateway, records: GatewayRecords) -> None:
    """Apply the stored overrides and disabled models; seed selection's observations."""
    overrides = await records.load(OVERRIDE)
    for node, value in overrides.items():
        if gateway.registry.get_node(node) is None:
            logger.warning("stored override %s → %s: node no longer configured", node, value)
            continue
        gateway.signals.set_override(node, _override(value))
    for model, value in (await records.load(DISABLED)).items():
        if value:
            gateway.signals.set_disabled(model, True)
    observed = await queries.model_observations(records.store, SEED_WINDOW_HOURS)
    if observed:
        gateway.signals.seed(observed)


def _override(value: Any) -> Override:
    return Override(
        model_id=str(value["model_id"]),
        forced=bool(value.get("forced", False)),
        actor=str(value.get("actor") or "admin"),
        created_at=float(value.get("created_at") or time.time()),
    )


async def open_control(
    settings: Settings, gateway: LLMGateway, durable: DurableState | None
) -> ControlPlane:
    """This replica's control plane on the state store (Redis, or this process's memory),
    rebuilding the shared control state from the record store when it has none."""
    control = ControlPlane(
        open_state_store(settings),
        gateway,
        heartbeat_s=settings.GATEWAY_HEARTBEAT_S,
        resync_s=settings.GATEWAY_CONTROL_RESYNC_S,
    )
    if durable is not None:
        records = durable.records

        async def from_records() -> dict[str, dict[str, Any]]:
            return {
                OVERRIDE: await records.load(OVERRIDE),
                DISABLED: await records.load(DISABLED),
                BUDGET: await records.load(BUDGET),
                FLAG: await records.load(FLAG),
            }

        control.durable = from_records

    async def reload(force: bool) -> dict[str, Any]:
        return await reload_on_replica(gateway, force)

    control.reloader = reload
    gateway.control = control
    gateway.cache.store = control.store  # Redis: one cache for every replica
    await control.start()
    return control
