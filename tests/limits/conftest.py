"""Rate-limit fixtures: Redis-backed rate stores on the real local Redis under a prefix of the
test's own (every key of it deleted afterwards)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable

import pytest
from tests.shared_services import REDIS_URL, drop_prefix

from llm_gateway.limits.store import RedisRateStore
from llm_gateway.state.redis_store import RedisStateStore


@pytest.fixture
async def redis_rates() -> AsyncIterator[Callable[[], RedisRateStore]]:
    """A factory of rate stores sharing one prefix: one per simulated replica."""
    prefix = f"test-{uuid.uuid4().hex[:10]}"
    states: list[RedisStateStore] = []

    def make() -> RedisRateStore:
        state = RedisStateStore(REDIS_URL, prefix=prefix)
        states.append(state)
        return RedisRateStore(state)

    try:
        yield make
    finally:
        for state in states:
            await state.aclose()
        await drop_prefix(prefix)
