"""Fixtures for tests that share the real local Redis and PostgreSQL (a pytest plugin, enabled in
tests/conftest.py): each test gets a Redis key prefix and a PostgreSQL database of its own, both
removed afterwards; and the settings every replica of such a test runs with."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from redis import asyncio as aioredis
from tests.storage.conftest import own_pg_database, pg_admin

REDIS_URL = "redis://127.0.0.1:6379/0"


async def drop_prefix(prefix: str) -> None:
    """Delete every key of the deployment prefix ``prefix`` (its keys are ``{prefix}:…``)."""
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


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    async with own_pg_database() as url:
        yield url


@contextmanager
def own_resources() -> Iterator[tuple[str, str]]:
    """``(PostgreSQL URL, Redis prefix)`` of a database and a key prefix of the caller's own,
    both removed on exit — for fixtures wider than one test, which cannot use the async ones."""
    name = f"llmg_{uuid.uuid4().hex[:12]}"
    asyncio.run(pg_admin(f'CREATE DATABASE "{name}"'))
    prefix = f"test-{uuid.uuid4().hex[:10]}"
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}", prefix
    finally:
        asyncio.run(drop_prefix(prefix))
        asyncio.run(pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def replica_settings(
    *, home: Path, config_dir: Path, upstream_url: str, pg_url: str, redis_prefix: str
) -> dict[str, str]:
    """The settings (environment variable → value) of one replica of a multi-replica test:
    OpenRouter pointed at the simulator, the shared Redis and PostgreSQL, quick heartbeats, no
    retries, a circuit that opens after two failures. ``home`` holds the replica's own files."""
    return {
        "GATEWAY_SIMULATE": "false",
        "OPENROUTER_API_KEY": "sk-or-replica-test-0000",
        "OPENROUTER_BASE_URL": upstream_url,
        "GATEWAY_CONFIG_DIR": str(config_dir),
        "DATABASE_URL": pg_url,
        "GATEWAY_LEDGER_SPOOL_DIR": str(home / "spool"),
        "GATEWAY_AUDIT_LOG_FILE": str(home / "audit.jsonl"),
        "REDIS_URL": REDIS_URL,
        "GATEWAY_REDIS_PREFIX": redis_prefix,
        "GATEWAY_HEARTBEAT_S": "0.2",
        "GATEWAY_MAX_RETRIES": "0",
        "GATEWAY_CIRCUIT_FAILURE_THRESHOLD": "2",
        "GATEWAY_CIRCUIT_COOLDOWN_S": "3.0",
    }
