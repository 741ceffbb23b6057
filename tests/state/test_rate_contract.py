"""The rate-limit store's contract (GCRA), on memory and on the real Redis alike: grants never
pass the limit, even concurrently; what is given back is available again; slices shrink near
the cap; a refusal says how long until capacity returns."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from tests.shared_services import REDIS_URL, drop_prefix

from llm_gateway.limits.store import MemoryRateStore, RateStore, RedisRateStore
from llm_gateway.state.redis_store import RedisStateStore


@pytest.fixture(params=["memory", "redis"])
async def rate_store(request: pytest.FixtureRequest) -> AsyncIterator[RateStore]:
    if request.param == "memory":
        yield MemoryRateStore()
        return
    prefix = f"test-{uuid.uuid4().hex[:10]}"
    state = RedisStateStore(REDIS_URL, prefix=prefix)
    try:
        yield RedisRateStore(state)
    finally:
        await state.aclose()
        await drop_prefix(prefix)


def unsliced(store: RateStore) -> RateStore:
    store.sliced = False
    return store


async def test_grants_stop_at_the_limit_and_say_when_to_come_back(rate_store: RateStore) -> None:
    store = unsliced(rate_store)
    granted = [(await store.take("k", want=1, need=1, limit=60)).granted for _ in range(61)]
    assert granted == [1] * 60 + [0]
    refused = await store.take("k", want=1, need=1, limit=60)
    assert refused.granted == 0
    assert 0.5 < refused.retry_after_s <= 1.0  # one request per second refills
    other = await store.take("other", want=1, need=1, limit=60)
    assert other.granted == 1  # keys are independent


async def test_concurrent_takes_never_pass_the_limit(rate_store: RateStore) -> None:
    store = unsliced(rate_store)
    grants = await asyncio.gather(
        *(store.take("burst", want=1, need=1, limit=50) for _ in range(200))
    )
    assert sum(g.granted for g in grants) == 50


async def test_units_given_back_are_available_again_and_charges_delay(
    rate_store: RateStore,
) -> None:
    store = unsliced(rate_store)
    assert (await store.take("t", want=900, need=900, limit=1000)).granted == 900
    assert (await store.take("t", want=200, need=200, limit=1000)).granted == 0
    await store.give_back("t", 500, limit=1000)  # reserved 900, used 400
    assert (await store.take("t", want=200, need=200, limit=1000)).granted == 200
    await store.give_back("t", -300, limit=1000)  # 300 more used than granted
    refused = await store.take("t", want=200, need=200, limit=1000)
    assert refused.granted == 0 and refused.retry_after_s > 1.0


async def test_a_need_above_the_limit_waits_for_a_full_bucket(rate_store: RateStore) -> None:
    store = unsliced(rate_store)
    assert (await store.take("big", want=5000, need=5000, limit=1000)).granted == 1000
    assert (await store.take("big", want=1, need=1, limit=1000)).granted == 0


async def test_slices_are_at_most_a_quarter_of_what_is_left(rate_store: RateStore) -> None:
    rate_store.sliced = True
    sizes = [(await rate_store.take("s", want=40, need=1, limit=100)).granted for _ in range(6)]
    assert sizes == [25, 18, 14, 10, 8, 6]  # want 40 capped by a quarter of 100, 75, 57, ...
    while (await rate_store.take("s", want=40, need=1, limit=100)).granted:
        pass
    assert (await rate_store.take("s", want=2, need=2, limit=100)).granted == 0


async def test_redis_keys_expire_when_their_bucket_is_full_again() -> None:
    prefix = f"test-{uuid.uuid4().hex[:10]}"
    state = RedisStateStore(REDIS_URL, prefix=prefix)
    try:
        store = RedisRateStore(state)
        await store.take("ttl", want=30, need=30, limit=60)
        ttl_ms = await state.client.pttl(state.key("rl", "ttl"))
        assert 29_000 < ttl_ms <= 31_000  # refilled in 30 s (+1 s margin), then gone
        await store.give_back("ttl", 30, limit=60)
        assert await state.client.exists(state.key("rl", "ttl")) == 0
    finally:
        await state.aclose()
        await drop_prefix(prefix)
