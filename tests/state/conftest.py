"""State-store fixtures: the contract runs on the memory backend and on the real local Redis
(db 0, a key prefix of the test's own, every key of it deleted afterwards). ``redis_prefix`` and
``pg_url`` come from tests/shared_services.py."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from tests.shared_services import REDIS_URL, drop_prefix

from llm_gateway.state.base import StateStore
from llm_gateway.state.memory import MemoryStateStore
from llm_gateway.state.redis_store import RedisStateStore

__all__ = ["REDIS_URL", "drop_prefix", "state_store"]


@pytest.fixture(params=["memory", "redis"])
async def state_store(request: pytest.FixtureRequest) -> AsyncIterator[StateStore]:
    if request.param == "memory":
        store: StateStore = MemoryStateStore()
        await store.start()
        yield store
        await store.aclose()
        return
    prefix = f"test-{uuid.uuid4().hex[:10]}"
    store = RedisStateStore(REDIS_URL, prefix=prefix)
    await store.start()
    try:
        yield store
    finally:
        await store.aclose()
        await drop_prefix(prefix)
