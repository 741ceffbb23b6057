"""The budget hook inside a gateway (in-process simulated provider, memory counters): the
reservation, the output cap sent as max_tokens, a later hook's refusal releasing what the budget
reserved, reservations of dead requests expiring, and the fail modes of a counter store that
stops answering."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from tests.budgets.served import config_with_budgets
from tests.http.conftest import SimulatedProviders, make_settings

from llm_gateway.budgets.config import to_units
from llm_gateway.budgets.counters import (
    BudgetCounters,
    CounterView,
    MemoryBudgetCounters,
    SyncAnswer,
    SyncItem,
)
from llm_gateway.budgets.estimate import ReservationEstimator
from llm_gateway.budgets.manager import BudgetManager
from llm_gateway.budgets.refusals import BudgetRefused, BudgetUnavailable
from llm_gateway.cost import estimate_cost
from llm_gateway.errors import RateLimited
from llm_gateway.gateway import LLMGateway, Route, build_gateway
from llm_gateway.state.base import StateUnavailable

MESSAGES = [{"role": "user", "content": "hello"}]


class Switchable(BudgetCounters):
    """Memory counters that can be made to fail like an unreachable Redis."""

    def __init__(self) -> None:
        self.inner = MemoryBudgetCounters()
        self.down = False

    async def sync(self, replica: str, items: Sequence[SyncItem], ttl_s: float) -> list[SyncAnswer]:
        if self.down:
            raise StateUnavailable("Redis test: connection refused")
        return await self.inner.sync(replica, items, ttl_s)

    async def init(self, key: str, spent: int, expire_at: float) -> bool:
        if self.down:
            raise StateUnavailable("Redis test: connection refused")
        return await self.inner.init(key, spent, expire_at)

    async def read(self, keys: Sequence[str]) -> list[CounterView | None]:
        return await self.inner.read(keys)


class RefusingHook:
    async def admit(self, plan: Any) -> None:
        raise RateLimited("rate limit test", retry_after=1)

    async def settle(self, plan: Any, cost: Any, ok: bool) -> None:
        raise AssertionError("a hook that refused is not settled")


def _gateway(tmp_path: Path, budgets: str) -> LLMGateway:
    config = config_with_budgets(tmp_path / "config", budgets)
    settings = make_settings(tmp_path, GATEWAY_CONFIG_DIR=config, DATABASE_URL="")
    return build_gateway(settings, providers=SimulatedProviders())


def _manager(gateway: LLMGateway, counters: BudgetCounters, mode: str = "closed") -> BudgetManager:
    manager = BudgetManager(
        counters,
        replica_id="r1",
        budgets=gateway.registry.catalog.budgets,
        fail_mode=mode,
        sync_s=3600,  # syncs only when a request waits (or the test asks)
    )
    gateway.admission.append(manager)
    return manager


def _reserved(manager: BudgetManager) -> int:
    return sum(c.reserved for c in manager.counters.values())


async def test_the_output_cap_is_reserved_and_sent(tmp_path: Path) -> None:
    gateway = _gateway(tmp_path, 'nodes:\n  formatter: {day: "10", output_cap: 77}\n')
    manager = _manager(gateway, MemoryBudgetCounters())
    plan = gateway.planned({"messages": MESSAGES}, Route("formatter", "formatter"), stream=False)
    await gateway._admit(plan)
    assert plan.request["max_tokens"] == 77
    assert _reserved(manager) > 0
    explicit = gateway.planned(
        {"messages": MESSAGES, "max_tokens": 5}, Route("formatter", "formatter"), stream=False
    )
    await gateway._admit(explicit)
    assert explicit.request["max_tokens"] == 5


async def test_a_later_hooks_refusal_releases_the_budgets_reservation(tmp_path: Path) -> None:
    gateway = _gateway(tmp_path, 'gateway: {day: "10"}\n')
    manager = _manager(gateway, MemoryBudgetCounters())
    gateway.admission.append(RefusingHook())
    with pytest.raises(RateLimited):
        await gateway.complete({"messages": MESSAGES}, Route())
    assert _reserved(manager) == 0 and manager._live == {}


async def test_a_settled_request_is_charged_and_its_reservation_released(
    tmp_path: Path,
) -> None:
    gateway = _gateway(tmp_path, 'gateway: {day: "10"}\n')
    manager = _manager(gateway, MemoryBudgetCounters())
    answer = await gateway.complete({"messages": MESSAGES, "max_tokens": 20}, Route())
    [counter] = manager.counters.values()
    assert counter.reserved == 0 and counter.pending > 0
    assert answer.headers["x-gateway-budget-scope"] == "gateway; period=day"
    assert 0 < Decimal(answer.headers["x-gateway-budget-remaining"]) < 10
    await manager.sync_now()
    [view] = await manager.store.read([counter.key])
    assert view is not None and view.spent == counter.spent > 0


async def test_a_dead_requests_reservation_expires(tmp_path: Path) -> None:
    gateway = _gateway(tmp_path, 'gateway: {day: "10"}\n')
    manager = _manager(gateway, MemoryBudgetCounters())
    plan = gateway.planned({"messages": MESSAGES}, Route(), stream=False)
    await gateway._admit(plan)  # and never settled: the request died
    assert _reserved(manager) > 0
    plan_deadline = manager._live[plan.request_id].expires_at
    manager._sweep(plan_deadline + 1)
    assert _reserved(manager) == 0


async def test_closed_refuses_while_the_counters_are_unreachable(tmp_path: Path) -> None:
    gateway = _gateway(tmp_path, 'gateway: {day: "10"}\n')
    counters = Switchable()
    manager = _manager(gateway, counters, "closed")
    await gateway.complete({"messages": MESSAGES, "max_tokens": 20}, Route())
    counters.down = True
    await manager.sync_now()
    with pytest.raises(BudgetUnavailable) as refused:
        await gateway.complete({"messages": MESSAGES, "max_tokens": 20}, Route())
    assert refused.value.status_code == 503 and refused.value.code == "budget_unavailable"
    counters.down = False
    await manager.sync_now()
    await gateway.complete({"messages": MESSAGES, "max_tokens": 20}, Route())


async def test_local_keeps_each_replica_to_its_share_of_what_remained(tmp_path: Path) -> None:
    gateway = _gateway(tmp_path, 'gateway: {day: "0.01"}\n')
    counters = Switchable()
    manager = _manager(gateway, counters, "local")
    body = {"messages": MESSAGES, "max_tokens": 50}
    await gateway.complete(body, Route())
    await manager.sync_now()
    [counter] = manager.counters.values()
    # another replica holds a lease of a third of the cap
    third = counter.cap // 3
    await counters.inner.sync("other", [SyncItem(counter.key, counter.cap, want=third)], 60)
    await gateway.complete(body, Route())
    await manager.sync_now()
    counters.down = True  # found out by the next request that needs a sync
    served = 0
    with pytest.raises(BudgetRefused) as refused:
        for _ in range(1000):
            await gateway.complete(body, Route())
            served += 1
    assert manager.unavailable is not None
    assert served > 0 and "share" in refused.value.message
    # what this replica spent stays within what the other replica's lease left
    assert counter.spent + counter.pending <= counter.cap - third
    counters.down = False
    await manager.sync_now()
    [view] = await counters.inner.read([counter.key])
    assert view is not None and view.spent + third <= counter.cap


async def test_closed_sees_the_counters_come_back_without_a_request(tmp_path: Path) -> None:
    gateway = _gateway(tmp_path, 'gateway: {day: "10"}\n')
    counters = Switchable()
    manager = _manager(gateway, counters, "closed")
    await gateway.complete({"messages": MESSAGES, "max_tokens": 20}, Route())
    await manager.sync_now()
    await manager.sync_now()  # idle now: nothing due
    counters.down = True
    with pytest.raises(BudgetUnavailable):  # found out by a request that needed a sync
        for _ in range(1000):
            await gateway.complete({"messages": MESSAGES, "max_tokens": 20}, Route())
    counters.down = False
    await manager.sync_now()  # the periodic sync, no request asking
    assert manager.unavailable is None
    await gateway.complete({"messages": MESSAGES, "max_tokens": 20}, Route())


async def test_the_estimate_takes_the_dearest_model_the_chain_can_reach(tmp_path: Path) -> None:
    gateway = _gateway(tmp_path, 'gateway: {day: "10"}\n')
    plan = gateway.planned(
        {"messages": MESSAGES, "max_tokens": 100, "model": "gpt-4o-mini"},
        Route(requested_model="gpt-4o-mini"),
        stream=False,
    )
    candidates = plan.selection.candidates
    assert len(candidates) > 1
    budgets = gateway.registry.catalog.budgets
    each = [to_units(estimate_cost(p, plan.input_tokens, 100)) for p in candidates]
    assert max(each) > each[0]  # a fallback is dearer than the primary
    assert ReservationEstimator().reserve(plan, budgets, ("gateway",)) == max(each)
    primary_only = ReservationEstimator(fallbacks=False)
    assert primary_only.reserve(plan, budgets, ("gateway",)) == each[0]
