"""Opening the record store's database: an async SQLAlchemy engine for a ``DATABASE_URL``.

Two backends: a SQLite file (``sqlite+aiosqlite:///./data/llm_gateway.sqlite3``, the embedded
default; WAL journal so readers in other processes never block the writer) and PostgreSQL
(``postgresql+asyncpg://user@host:5432/db``). Plain ``sqlite://`` and ``postgresql://`` URLs are
given their async driver.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool


class StorageError(Exception):
    """The record store cannot be used as configured; the message says why and what to do."""


_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}


def parse_url(url: str) -> URL:
    """The async URL for ``url``; StorageError naming DATABASE_URL when it is not one we serve."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StorageError(
            "DATABASE_URL is not a database URL (sqlite+aiosqlite:///path or "
            "postgresql+asyncpg://user@host/db)"
        ) from None
    backend = parsed.get_backend_name()
    if backend not in _DRIVERS:
        raise StorageError(
            f"DATABASE_URL: unsupported database '{backend}' (use sqlite+aiosqlite or "
            "postgresql+asyncpg)"
        )
    if parsed.drivername != _DRIVERS[backend]:
        parsed = parsed.set(drivername=_DRIVERS[backend])
    return parsed


def describe(url: URL) -> str:
    """The URL without its password, for logs and messages."""
    return url.render_as_string(hide_password=True)


def create_engine(url: str | URL, *, pool_size: int = 5) -> AsyncEngine:
    """An engine for ``url``; a SQLite file's folder is created when missing."""
    parsed = parse_url(url) if isinstance(url, str) else url
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": 30}
        kwargs["poolclass"] = NullPool if database in ("", ":memory:") else None
        kwargs = {k: v for k, v in kwargs.items() if v is not None}
    else:
        kwargs.update(
            pool_size=pool_size,
            max_overflow=pool_size,
            pool_pre_ping=True,
            pool_recycle=1800,
            connect_args={"timeout": 5, "command_timeout": 30},
        )
    engine = create_async_engine(parsed, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
