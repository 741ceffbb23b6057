"""State-store fixtures: the contract runs on the memory backend and on the real local Redis
(db 0, a key prefix of the test's own, every key of it deleted afterwards)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from redis import asyncio as aioredis
from tests.storage.conftest import own_pg_database

from llm_gateway.state.base import StateStore
from llm_gateway.state.memory import MemoryStateStore
from llm_gateway.state.redis_store import RedisStateStore


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    async with own_pg_database() as url:
        yield url


REDIS_URL = "redis://127.0.0.1:6379/0"


async def drop_prefix(prefix: str) -> None:
    client = aioredis.from_url(REDIS_URL)
    try:
        keys = [key async for key in client.scan_iter(match="{" + prefix + "}:*", count=1000)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    prefix = f"test-{uuid.uuid4().hex[:10]}"
    try:
        yield prefix
    finally:
        await drop_prefix(prefix)


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
