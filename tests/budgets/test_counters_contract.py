"""The shared budget counters' contract, on memory and on the real Redis: absent until built,
spend added exactly, leases that never take spend plus leases past the cap (but for what a
replica must hold), shrinking near the cap, expiring when not renewed."""

from __future__ import annotations

import asyncio
import time

from tests.shared_services import REDIS_URL

from llm_gateway.budgets.counters import BudgetCounters, SyncItem
from llm_gateway.budgets.redis_counters import RedisBudgetCounters
from llm_gateway.state.redis_store import RedisStateStore

KEY = "gateway|day:2026-12-03"
LATER = time.time() + 3600


async def test_a_counter_is_absent_until_built_and_built_once(counters: BudgetCounters) -> None:
    [answer] = await counters.sync("a", [SyncItem(KEY, 1000, delta=5, want=10)], 10)
    assert not answer.present
    assert await counters.read([KEY]) == [None]
    assert await counters.init(KEY, 40, LATER) is True
    assert await counters.init(KEY, 99, LATER) is False  # the first rebuild wins
    [view] = await counters.read([KEY])
    assert view is not None and view.spent == 40 and view.leased == 0


async def test_spend_is_added_and_a_lease_granted_within_the_cap(
    counters: BudgetCounters,
) -> None:
    await counters.init(KEY, 100, LATER)
    [a] = await counters.sync("a", [SyncItem(KEY, 1000, delta=50, want=300)], 10)
    assert a.present and a.ok and a.lease == 300 and a.spent == 150 and a.others == 0
    [b] = await counters.sync("b", [SyncItem(KEY, 1000, want=300)], 10)
    assert b.lease == 300 and b.others == 300 and b.holders == 2
    # 1000 - 150 spent - 600 leased = 250 left: c asks 300, is granted a shrinking share
    [c] = await counters.sync("c", [SyncItem(KEY, 1000, want=300)], 10)
    assert c.lease == 250 // (2 * 3)
    [view] = await counters.read([KEY])
    assert view is not None and view.spent + view.leased <= 1000 and view.holders == 3


async def test_a_need_that_does_not_fit_is_refused_and_takes_nothing(
    counters: BudgetCounters,
) -> None:
    await counters.init(KEY, 900, LATER)
    [a] = await counters.sync("a", [SyncItem(KEY, 1000, hold=20, want=200, need=170)], 10)
    assert not a.ok and a.lease == 20  # only what it holds
    [b] = await counters.sync("b", [SyncItem(KEY, 1000, want=90, need=60)], 10)
    assert b.ok and b.lease == 60  # 80 left: the need fits, the want does not


async def test_a_hold_is_kept_even_past_the_cap(counters: BudgetCounters) -> None:
    await counters.init(KEY, 0, LATER)
    await counters.sync("a", [SyncItem(KEY, 100, want=100)], 10)
    # the requests reserved on a's lease cost more than reserved: spend grows past the cap
    [a] = await counters.sync("a", [SyncItem(KEY, 100, delta=130, hold=40, want=40)], 10)
    assert a.lease == 40 and a.spent == 130
    [b] = await counters.sync("b", [SyncItem(KEY, 100, want=10, need=10)], 10)
    assert not b.ok and b.lease == 0


async def test_an_unrenewed_lease_expires(counters: BudgetCounters) -> None:
    await counters.init(KEY, 0, LATER)
    await counters.sync("dead", [SyncItem(KEY, 100, want=100)], 0.2)
    [b] = await counters.sync("b", [SyncItem(KEY, 100, want=50, need=50)], 10)
    assert not b.ok
    await asyncio.sleep(0.35)
    [b] = await counters.sync("b", [SyncItem(KEY, 100, want=50, need=50)], 10)
    assert b.ok and b.lease == 50 and b.others == 0 and b.holders == 1


async def test_one_sync_serves_many_counters_and_a_zero_lease_is_forgotten(
    counters: BudgetCounters,
) -> None:
    other = "node:writer|day:2026-12-03"
    await counters.init(KEY, 0, LATER)
    await counters.init(other, 7, LATER)
    answers = await counters.sync(
        "a", [SyncItem(KEY, 100, delta=1, want=10), SyncItem(other, 50, delta=2, want=5)], 10
    )
    assert [(x.spent, x.lease) for x in answers] == [(1, 10), (9, 5)]
    await counters.sync("a", [SyncItem(KEY, 100)], 10)  # idle: gives the lease back
    views = await counters.read([KEY, other])
    assert views[0] is not None and views[0].leased == 0 and views[0].holders == 0
    assert views[1] is not None and views[1].leased == 5


async def test_on_redis_a_sync_counts_the_live_replicas_idle_ones_included(
    redis_prefix: str,
) -> None:
    store = RedisStateStore(REDIS_URL, prefix=redis_prefix)
    try:
        counters = RedisBudgetCounters(store)
        for replica in ("a", "b", "c"):  # three live replicas, only one of them holds a lease
            await store.heartbeat(replica, {}, ttl_s=30)
        await store.heartbeat("gone", {}, ttl_s=0.01)
        await asyncio.sleep(0.05)
        await counters.init(KEY, 0, LATER)
        [a] = await counters.sync("a", [SyncItem(KEY, 100, want=10)], 10)
        assert a.holders == 1 and a.replicas == 3
    finally:
        await store.aclose()
