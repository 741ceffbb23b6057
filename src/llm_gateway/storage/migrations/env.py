"""Alembic environment for the record store (async engines; run by ``storage.migrate``).

On PostgreSQL the whole upgrade holds a transaction-scoped advisory lock, so replicas that start
together and all migrate cannot race: the first migrates, the others wait and find nothing to do.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection

from llm_gateway.storage.engine import create_engine
from llm_gateway.storage.schema import metadata

MIGRATION_LOCK_KEY = 0x6C6C6D67  # "llmg"


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        transaction_per_migration=False,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(text(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})"))
        context.run_migrations()


async def _online() -> None:
    engine = create_engine(context.config.get_main_option("sqlalchemy.url") or "")
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported: run `llm-gateway db upgrade`")
asyncio.run(_online())
