"""The budget counters' contract runs on the memory backend and on the real local Redis (a key
prefix of the test's own, deleted afterwards). ``pg_url`` comes from tests/shared_services.py."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from tests.shared_services import REDIS_URL, drop_prefix

from llm_gateway.budgets.counters import BudgetCounters, MemoryBudgetCounters
from llm_gateway.budgets.redis_counters import RedisBudgetCounters
from llm_gateway.state.redis_store import RedisStateStore


@pytest.fixture(params=["memory", "redis"])
async def counters(request: pytest.FixtureRequest) -> AsyncIterator[BudgetCounters]:
    if request.param == "memory":
        yield MemoryBudgetCounters()
        return
    prefix = f"test-budget-{uuid.uuid4().hex[:10]}"
    store = RedisStateStore(REDIS_URL, prefix=prefix)
    try:
        yield RedisBudgetCounters(store)
    finally:
        await store.aclose()
        await drop_prefix(prefix)
