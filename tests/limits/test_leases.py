"""Leased capacity: replicas sharing one Redis never admit more than the limit together, give
back what they do not use, and enforce their share alone when Redis does not answer."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import pytest
from tests.state.own_redis import free_port

from llm_gateway.limits.lease import LeasedRates
from llm_gateway.limits.store import RedisRateStore
from llm_gateway.state.redis_store import RedisStateStore


def regenerated(limit: int, since: float) -> int:
    """Units a bucket of ``limit`` per minute refills in the time since ``since``."""
    return int((time.monotonic() - since) * limit / 60)


async def test_two_replicas_never_admit_more_than_the_limit_together(
    redis_rates: Callable[[], RedisRateStore],
) -> None:
    a, b = LeasedRates(redis_rates()), LeasedRates(redis_rates())
    started = time.monotonic()
    grants = await asyncio.gather(
        *(replica.take("node:rpm:writer", 1, 100) for _ in range(150) for replica in (a, b))
    )
    admitted = sum(g.granted for g in grants)
    assert 95 <= admitted <= 100 + regenerated(100, started)
    refused = [g for g in grants if not g.granted]
    assert refused and all(0 < g.retry_after_s <= 1.0 for g in refused)


async def test_slices_grow_with_use_and_what_is_unused_goes_back(
    redis_rates: Callable[[], RedisRateStore],
) -> None:
    a = LeasedRates(redis_rates(), lease_s=0.2, max_share=0.5)
    b = LeasedRates(redis_rates())
    for _ in range(40):
        assert (await a.take("k", 1, 1000)).granted == 1
    # a leased slices of 1, 2, 4, ... 32 (63) for the 40 it used; once its lease ends the
    # rest goes back to the bucket (kept, b could take at most 1000 - 63)
    await asyncio.sleep(0.25)
    await a.sweep()
    taken = 0
    while (await b.take("k", 10, 1000)).granted:
        taken += 10
    assert taken >= 950


async def test_tokens_settled_below_the_reservation_are_available_again(
    redis_rates: Callable[[], RedisRateStore],
) -> None:
    rates = LeasedRates(redis_rates())
    assert (await rates.take("tpm", 800, 1000)).granted == 800
    assert not (await rates.take("tpm", 800, 1000)).granted
    rates.adjust("tpm", 800 - 30, 1000)  # reserved 800, used 30
    assert (await rates.take("tpm", 800, 1000)).granted == 800


async def test_without_redis_each_replica_enforces_its_share(
    caplog: pytest.LogCaptureFixture,
) -> None:
    state = RedisStateStore(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    rates = LeasedRates(RedisRateStore(state))
    rates.replicas = 2
    try:
        with caplog.at_level(logging.ERROR, logger="llm_gateway.limits"):
            grants = [await rates.take("node:rpm:writer", 1, 10) for _ in range(8)]
        assert sum(g.granted for g in grants) == 5  # half of 10: two replicas were alive
        assert rates.unavailable is not None
        outage_lines = [r for r in caplog.records if "unavailable" in r.getMessage()]
        assert len(outage_lines) == 1
    finally:
        await state.aclose()
