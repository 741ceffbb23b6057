"""Budgets in a serving gateway: the manager on the state store's backend, fed by the config
files (reloads included), the shared admin entries and the ledger (its rebuild source)."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime
from decimal import Decimal
from typing import Any

from llm_gateway.budgets.config import parse_scope_id
from llm_gateway.budgets.counters import BudgetCounters, MemoryBudgetCounters
from llm_gateway.budgets.manager import BudgetManager
from llm_gateway.budgets.metrics import BudgetCollector
from llm_gateway.settings import Settings
from llm_gateway.storage import queries
from llm_gateway.storage.runtime import BUDGET

_FLUSH_TIMEOUT_S = 2.0


def counters_for(store: Any) -> BudgetCounters:
    """Redis counters beside a Redis state store, else this process's memory."""
    if getattr(store, "backend", None) == "redis":
        from llm_gateway.budgets.redis_counters import RedisBudgetCounters

        return RedisBudgetCounters(store)
    return MemoryBudgetCounters()


def ledger_spend(records: Any) -> Any:
    """The spend of one scope since a time, read from the record store (its queued rows
    delivered first, so this replica's latest requests are counted)."""

    async def spend(scope: str, since: datetime) -> Decimal:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(records.writer.flush(), _FLUSH_TIMEOUT_S)
        kind, name = parse_scope_id(scope)
        filters = {"node": "node", "model": "model", "key": "client_key"}
        extra = {filters[kind]: name} if kind in filters else {}
        return await queries.spend_since(records.store, since, **extra)

    return spend


async def open_budgets(settings: Settings, gateway: Any, control: Any) -> BudgetManager:
    """The gateway's budget hook, started, following reloads and admin changes."""
    records = gateway.records
    manager = BudgetManager(
        counters_for(control.store),
        replica_id=control.replica_id,
        budgets=gateway.registry.catalog.budgets,
        fail_mode=settings.GATEWAY_BUDGET_FAIL_MODE,
        ledger_spend=ledger_spend(records) if records is not None else None,
        sync_s=settings.GATEWAY_BUDGET_SYNC_MS / 1000,
        lease_ttl_s=settings.GATEWAY_BUDGET_LEASE_TTL_S,
        fallbacks=settings.GATEWAY_FALLBACK_ENABLED,
    )
    manager.unsubscribe = gateway.registry.subscribe(
        lambda catalog: manager.use_file(catalog.budgets)
    )
    control.followers.append(manager)
    if control.state is not None:
        manager.apply_control(control.state)
    elif records is not None:  # the state store is down at start: the record store's entries
        with contextlib.suppress(Exception):
            for scope, value in (await records.load(BUDGET)).items():
                manager.apply_change(BUDGET, scope, value)
    gateway.admission.insert(0, manager)
    gateway.budgets = manager
    manager.collector = BudgetCollector(manager)
    gateway.metrics.registry.register(manager.collector)
    await manager.start()
    return manager


async def close_budgets(gateway: Any, manager: BudgetManager) -> None:
    """Hand the settled spend over, stop syncing, detach from the gateway."""
    await manager.aclose()
    manager.unsubscribe()
    with contextlib.suppress(ValueError):
        gateway.admission.remove(manager)
    with contextlib.suppress(KeyError):
        gateway.metrics.registry.unregister(manager.collector)
    gateway.budgets = None
