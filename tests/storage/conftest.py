"""Record-store fixtures: every contract test runs on SQLite (a file of its own) and on the
real local PostgreSQL (a database of its own, created for the test and dropped after)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import pytest

from llm_gateway.storage.migrate import upgrade
from llm_gateway.storage.store import RecordStore

PG_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/test"


async def pg_admin(sql: str) -> None:
    connection = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@asynccontextmanager
async def own_pg_database() -> AsyncIterator[str]:
    """A database of its own on the shared local server, dropped afterwards."""
    name = f"llmg_{uuid.uuid4().hex[:12]}"
    await pg_admin(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    finally:
        await pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def sqlite_url(tmp_path: Path) -> Iterator[str]:
    yield f"sqlite+aiosqlite:///{tmp_path}/contract.sqlite3"


@pytest.fixture(params=["sqlite", "postgresql"])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty, unmigrated database of each backend."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/contract.sqlite3"
        return
    async with own_pg_database() as url:
        yield url


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[RecordStore]:
    """A migrated store of each backend."""
    import asyncio

    await asyncio.to_thread(upgrade, db_url)
    opened = RecordStore.open(db_url)
    try:
        yield opened
    finally:
        await opened.aclose()
