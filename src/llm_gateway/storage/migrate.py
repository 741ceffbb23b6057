"""Schema migrations (Alembic, shipped in the package): ``llm-gateway db upgrade|current|history``.

``prepare_schema(url, auto_migrate)`` is what ``serve`` runs before it binds: a SQLite file is
always brought to the newest schema; PostgreSQL only with ``GATEWAY_DB_AUTO_MIGRATE=true`` (under
an advisory lock, see ``migrations/env.py``), and otherwise a database behind the code stops the
start with a message naming the command to run. Alembic runs its own event loop, so these
functions are synchronous: call them from a thread when a loop is running.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError

from llm_gateway.storage.engine import StorageError, create_engine, describe, parse_url

logger = logging.getLogger("llm_gateway.storage")

_HERE = Path(__file__).resolve().parent


def alembic_config(url: str | URL) -> Config:
    parsed = parse_url(url) if isinstance(url, str) else url
    config = Config()
    config.set_main_option("script_location", str(_HERE / "migrations"))
    # ConfigParser interpolation: a password with '%' must be doubled.
    config.set_main_option(
        "sqlalchemy.url", parsed.render_as_string(hide_password=False).replace("%", "%%")
    )
    return config


def head_revision() -> str:
    script = ScriptDirectory.from_config(alembic_config("sqlite+aiosqlite://"))
    head = script.get_current_head()
    assert head is not None
    return head


def current_revision(url: str | URL) -> str | None:
    """The revision the database is at (None: never migrated). Raises StorageError."""
    parsed = parse_url(url) if isinstance(url, str) else url
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not Path(database).exists():
            return None
    try:
        return asyncio.run(_current(parsed))
    except (SQLAlchemyError, OSError) as exc:
        raise StorageError(
            f"cannot reach the database {describe(parsed)}: {_reason(exc)}"
        ) from None


async def _current(url: URL) -> str | None:
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(
                lambda sync: MigrationContext.configure(sync).get_current_revision()
            )
    finally:
        await engine.dispose()


def upgrade(url: str | URL, revision: str = "head") -> None:
    """Migrate to ``revision``; StorageError (one line, no password) when it cannot be done."""
    target = parse_url(url) if isinstance(url, str) else url
    try:
        command.upgrade(alembic_config(target), revision)
    except (SQLAlchemyError, OSError, CommandError) as exc:
        raise StorageError(f"migrating {describe(target)} failed: {_reason(exc)}") from None


def downgrade(url: str | URL, revision: str) -> None:
    target = parse_url(url) if isinstance(url, str) else url
    try:
        command.downgrade(alembic_config(target), revision)
    except (SQLAlchemyError, OSError, CommandError) as exc:
        raise StorageError(f"downgrading {describe(target)} failed: {_reason(exc)}") from None


def history() -> list[tuple[str, str | None, str]]:
    """``(revision, down_revision, message)`` from the newest."""
    script = ScriptDirectory.from_config(alembic_config("sqlite+aiosqlite://"))
    out = []
    for rev in script.walk_revisions():
        down = rev.down_revision if isinstance(rev.down_revision, str) else None
        out.append((rev.revision, down, (rev.doc or "").splitlines()[0] if rev.doc else ""))
    return out


def prepare_schema(
    url: str, *, auto_migrate: bool, announce: Callable[[str], None] = logger.info
) -> str:
    """Bring the schema to the code's revision or refuse (StorageError); return the revision."""
    parsed = parse_url(url)
    head = head_revision()
    current = current_revision(parsed)
    if current == head:
        return head
    if parsed.get_backend_name() == "sqlite" or auto_migrate:
        announce(f"migrating the record store {describe(parsed)}: {current or 'empty'} → {head}")
        upgrade(parsed)
        return head
    raise StorageError(
        f"the database {describe(parsed)} is at schema revision {current or 'none (empty)'}, "
        f"this gateway needs {head}: run `llm-gateway db upgrade` (or start with "
        "GATEWAY_DB_AUTO_MIGRATE=true)"
    )


def _reason(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
