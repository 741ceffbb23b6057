"""``RecordStore``: the record store's writes and its admin-state reads, over one async engine.

Writes of ledger rows and traces are idempotent on their id (a replayed spool batch inserts
nothing twice); admin changes are written before the change is acknowledged. Reads for reports
live in :mod:`llm_gateway.storage.queries`.
"""

from __future__ import annotations

import logging
import operator
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import delete, insert, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from llm_gateway.storage.engine import StorageError, create_engine, describe, parse_url
from llm_gateway.storage.records import LedgerRow, TraceRecord
from llm_gateway.storage.schema import admin_state, audit_log, config_applied, ledger, traces

logger = logging.getLogger("llm_gateway.storage")


class RecordStore:
    """Durable facts in SQLite or PostgreSQL. Safe to share between tasks of one event loop."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self.description = describe(engine.url)

    @classmethod
    def open(cls, url: str, *, pool_size: int = 5) -> RecordStore:
        return cls(create_engine(parse_url(url), pool_size=pool_size))

    async def aclose(self) -> None:
        await self.engine.dispose()

    async def ping(self) -> None:
        """Raises StorageError when the database does not answer."""
        try:
            async with self.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except (SQLAlchemyError, OSError) as exc:
            raise StorageError(f"{self.description}: {reason(exc)}") from None

    # -- ledger and traces (the writer's) ---------------------------------------------------

    async def insert_ledger(self, rows: Sequence[LedgerRow]) -> int:
        """Insert ``rows``, skipping ids already stored. Straight to the driver's executemany
        (SQLAlchemy's per-row statement processing would cost more than the request itself)."""
        if not rows:
            return 0
        sqlite_side = self.dialect == "sqlite"
        values = [_ledger_tuple(row, sqlite_side) for row in rows]
        await self._executemany(_LEDGER_SQL[self.dialect], values)
        return len(values)

    async def insert_traces(self, records: Sequence[TraceRecord]) -> int:
        if not records:
            return 0
        sqlite_side = self.dialect == "sqlite"
        values = [
            (
                r.request_id,
                r.trace_id,
                _sqlite_time(r.at) if sqlite_side else r.at,
                r.node,
                r.model,
                r.ok,
                r.status,
                r.duration_ms,
                r.body if isinstance(r.body, str) else orjson.dumps(r.body, default=str).decode(),
            )
            for r in records
        ]
        await self._executemany(_TRACES_SQL[self.dialect], values)
        return len(values)

    async def _executemany(self, sql: str, values: list[tuple[Any, ...]]) -> None:
        async with self.engine.begin() as connection:
            await connection.exec_driver_sql(sql, values)

    # -- admin state --------------------------------------------------------------------------

    async def put_state(self, kind: str, key: str, value: Any, actor: str | None = None) -> None:
        row = {"kind": kind, "key": key, "value": value, "actor": actor, "updated_at": _now()}
        dialect = postgresql if self.dialect == "postgresql" else sqlite
        statement = dialect.insert(admin_state).values(row)
        statement = statement.on_conflict_do_update(
            index_elements=["kind", "key"],
            set_={"value": row["value"], "actor": actor, "updated_at": row["updated_at"]},
        )
        async with self.engine.begin() as connection:
            await connection.execute(statement)

    async def put_states(self, kind: str, values: Mapping[str, Any], actor: str | None) -> None:
        """Several entries of one kind in one transaction: all or nothing."""
        now = _now()
        dialect = postgresql if self.dialect == "postgresql" else sqlite
        async with self.engine.begin() as connection:
            for key, value in values.items():
                row = {"kind": kind, "key": key, "value": value, "actor": actor, "updated_at": now}
                statement = dialect.insert(admin_state).values(row)
                await connection.execute(
                    statement.on_conflict_do_update(
                        index_elements=["kind", "key"],
                        set_={"value": value, "actor": actor, "updated_at": now},
                    )
                )

    async def apply_admin_change(
        self, changes: Sequence[tuple[str, str, Any]], audit: Mapping[str, Any] | None
    ) -> None:
        """Admin state changes (``(kind, key, value)``; value None removes) and the audit entry
        that describes them, in one transaction: the log never says what the state is not."""
        now = _now()
        dialect = postgresql if self.dialect == "postgresql" else sqlite
        async with self.engine.begin() as connection:
            for kind, key, value in changes:
                if value is None:
                    await connection.execute(
                        delete(admin_state).where(
                            admin_state.c.kind == kind, admin_state.c.key == key
                        )
                    )
                    continue
                actor = audit.get("actor") if audit else None
                row = {"kind": kind, "key": key, "value": value, "actor": actor, "updated_at": now}
                await connection.execute(
                    dialect.insert(admin_state)
                    .values(row)
                    .on_conflict_do_update(
                        index_elements=["kind", "key"],
                        set_={"value": value, "actor": actor, "updated_at": now},
                    )
                )
            if audit is not None:
                values = dict(audit)
                values["at"] = _parse_time(values["at"])
                await connection.execute(insert(audit_log).values(values))

    async def delete_state(self, kind: str, key: str) -> None:
        async with self.engine.begin() as connection:
            await connection.execute(
                delete(admin_state).where(admin_state.c.kind == kind, admin_state.c.key == key)
            )

    async def load_state(self, kind: str) -> dict[str, Any]:
        async with self.engine.connect() as connection:
            result = await connection.execute(
                select(admin_state.c.key, admin_state.c.value).where(admin_state.c.kind == kind)
            )
            return {row.key: row.value for row in result}

    # -- audit log and config versions ------------------------------------------------------

    async def insert_audit(self, entry: dict[str, Any]) -> None:
        values = dict(entry)
        values["at"] = _parse_time(values["at"])
        async with self.engine.begin() as connection:
            await connection.execute(insert(audit_log).values(values))

    async def list_audit(
        self, *, limit: int = 100, action: str | None = None, target: str | None = None
    ) -> list[dict[str, Any]]:
        query = select(audit_log).order_by(audit_log.c.seq.desc()).limit(limit)
        if action is not None:
            query = query.where(audit_log.c.action == action)
        if target is not None:
            query = query.where(audit_log.c.target == target)
        async with self.engine.connect() as connection:
            rows = (await connection.execute(query)).mappings().all()
        out = []
        for row in rows:
            item = {k: v for k, v in row.items() if k != "seq"}
            item["at"] = _iso(item["at"])
            out.append(item)
        return out

    async def record_config(self, version: str, config_dir: str, actor: str | None) -> None:
        async with self.engine.begin() as connection:
            await connection.execute(
                insert(config_applied).values(
                    version=version, at=_now(), config_dir=config_dir, actor=actor
                )
            )

    async def last_config(self) -> dict[str, Any] | None:
        query = select(config_applied).order_by(config_applied.c.seq.desc()).limit(1)
        async with self.engine.connect() as connection:
            row = (await connection.execute(query)).mappings().first()
        if row is None:
            return None
        return {"version": row["version"], "at": _iso(row["at"]), "config_dir": row["config_dir"]}


_LEDGER_COLUMNS = [c.name for c in ledger.columns]
_TRACE_COLUMNS = [c.name for c in traces.columns]


def _insert_sql(table: str, columns: list[str], keys: str, postgres: bool) -> str:
    marks = (
        ", ".join(
            f"${i}" + ("::jsonb" if postgres and c == "body" else "")
            for i, c in enumerate(columns, 1)
        )
        if postgres
        else ", ".join("?" for _ in columns)
    )
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks}) "
        f"ON CONFLICT ({keys}) DO NOTHING"
    )


_LEDGER_SQL = {
    "sqlite": _insert_sql("ledger", _LEDGER_COLUMNS, "id, at", False),
    "postgresql": _insert_sql("ledger", _LEDGER_COLUMNS, "id, at", True),
}
_TRACES_SQL = {
    "sqlite": _insert_sql("traces", _TRACE_COLUMNS, "request_id", False),
    "postgresql": _insert_sql("traces", _TRACE_COLUMNS, "request_id", True),
}


def _sqlite_time(value: datetime) -> str:
    """SQLAlchemy's SQLite DATETIME text form (UTC, no offset): what its reads compare to."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(" ", "microseconds")


_LEDGER_VALUES = operator.attrgetter(*_LEDGER_COLUMNS)
_AT = _LEDGER_COLUMNS.index("at")
_COST = _LEDGER_COLUMNS.index("cost_usd")
_SAVED = _LEDGER_COLUMNS.index("saved_usd")


def _ledger_tuple(row: LedgerRow, sqlite_side: bool) -> tuple[Any, ...]:
    values: tuple[Any, ...] = _LEDGER_VALUES(row)
    if not sqlite_side:
        return values
    out = list(values)
    out[_AT] = _sqlite_time(row.at)
    out[_COST] = format(row.cost_usd, "f")
    if row.saved_usd is not None:
        out[_SAVED] = format(row.saved_usd, "f")
    return tuple(out)


def reason(exc: BaseException) -> str:
    """The first line of a database error, without the statement SQLAlchemy appends."""
    orig = getattr(exc, "orig", None)
    lines = str(orig if orig is not None else exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _now() -> datetime:
    return datetime.now(UTC)


def _parse_time(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def _iso(value: datetime) -> str:
    if value.tzinfo is None:  # SQLite hands back naive datetimes: they were stored as UTC
        value = value.replace(tzinfo=UTC)
    return value.isoformat(timespec="milliseconds")


def as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
