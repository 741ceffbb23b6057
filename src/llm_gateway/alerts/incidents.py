"""Alert incidents in the record store (``alert_incidents``): the history, and the arbiter of
"notify now?".

Every step that would send a notification is first a conditional write, and only the writer
that changed the row notifies: opening inserts a row that a unique index allows once per
(rule, scope key) while open; a repeat moves ``last_notified_at`` only from the value the
evaluator read; resolving sets ``resolved_at`` only while it is unset. So one notification per
step, however many evaluators ever race.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from llm_gateway.storage.schema import alert_incidents as table
from llm_gateway.storage.store import RecordStore, as_utc


@dataclass(frozen=True, slots=True)
class Incident:
    id: str
    rule: str
    scope_key: str
    condition: str
    severity: str
    value: float
    summary: str
    started_at: datetime
    last_notified_at: datetime
    notifications: int
    resolved_at: datetime | None
    detail: dict[str, Any] | None

    @property
    def dedup_key(self) -> str:
        """The key a notifier de-duplicates on (PagerDuty's ``dedup_key``): rule and scope."""
        return f"llm-gateway:{self.rule}:{self.scope_key}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "rule": self.rule,
            "scope": self.scope_key,
            "condition": self.condition,
            "severity": self.severity,
            "value": self.value,
            "summary": self.summary,
            "state": "firing" if self.resolved_at is None else "resolved",
            "started_at": _iso(self.started_at),
            "last_notified_at": _iso(self.last_notified_at),
            "notifications": self.notifications,
            "resolved_at": _iso(self.resolved_at) if self.resolved_at else None,
            "detail": self.detail,
        }


def _iso(value: datetime) -> str:
    return as_utc(value).isoformat(timespec="milliseconds")


def _incident(row: Any) -> Incident:
    values = dict(row._mapping)
    for key in ("started_at", "last_notified_at", "resolved_at"):
        if values[key] is not None:
            values[key] = as_utc(values[key])
    return Incident(**values)


class IncidentStore:
    """Incidents over one record store."""

    def __init__(self, store: RecordStore) -> None:
        self.store = store

    async def open(
        self,
        *,
        rule: str,
        scope_key: str,
        condition: str,
        severity: str,
        value: float,
        summary: str,
        detail: dict[str, Any] | None = None,
        now: datetime | None = None,
    ) -> Incident | None:
        """A new firing incident, or None when one is already open for (rule, scope key)."""
        at = now or datetime.now(UTC)
        row = {
            "id": uuid.uuid4().hex,
            "rule": rule,
            "scope_key": scope_key[:256],
            "condition": condition[:256],
            "severity": severity,
            "value": value,
            "summary": summary,
            "started_at": at,
            "last_notified_at": at,
            "notifications": 1,
            "resolved_at": None,
            "detail": detail,
        }
        try:
            async with self.store.engine.begin() as connection:
                await connection.execute(insert(table).values(row))
        except IntegrityError:
            return None
        return Incident(**row)  # type: ignore[arg-type]

    async def claim_repeat(self, incident: Incident, now: datetime | None = None) -> bool:
        """Take the right to notify ``incident`` again (only if nobody did since it was read)."""
        at = now or datetime.now(UTC)
        statement = (
            update(table)
            .where(
                table.c.id == incident.id,
                table.c.resolved_at.is_(None),
                table.c.notifications == incident.notifications,
            )
            .values(last_notified_at=at, notifications=table.c.notifications + 1)
        )
        return await self._changed(statement)

    async def resolve(self, incident: Incident, now: datetime | None = None) -> bool:
        """Close ``incident``; True for the one caller that closed it."""
        statement = (
            update(table)
            .where(table.c.id == incident.id, table.c.resolved_at.is_(None))
            .values(resolved_at=now or datetime.now(UTC))
        )
        return await self._changed(statement)

    async def note(self, incident: Incident, detail: dict[str, Any]) -> None:
        """Keep ``detail`` (e.g. delivery results, the model disabled) with the incident."""
        async with self.store.engine.begin() as connection:
            current = (
                await connection.execute(select(table.c.detail).where(table.c.id == incident.id))
            ).scalar()
            merged = {**(current or {}), **detail}
            await connection.execute(
                update(table).where(table.c.id == incident.id).values(detail=merged)
            )

    async def _changed(self, statement: Any) -> bool:
        async with self.store.engine.begin() as connection:
            result = await connection.execute(statement)
        return bool(result.rowcount)

    async def open_incidents(self) -> list[Incident]:
        query = select(table).where(table.c.resolved_at.is_(None))
        async with self.store.engine.connect() as connection:
            return [_incident(row) for row in await connection.execute(query)]

    async def history(self, *, limit: int = 100, rule: str | None = None) -> list[Incident]:
        """Newest first."""
        query = select(table).order_by(table.c.started_at.desc()).limit(limit)
        if rule is not None:
            query = query.where(table.c.rule == rule)
        async with self.store.engine.connect() as connection:
            return [_incident(row) for row in await connection.execute(query)]

    async def resolved_floors(self, rule: str) -> dict[str, datetime]:
        """Per scope key, when ``rule``'s last incident for it was resolved."""
        query = (
            select(table.c.scope_key, func.max(table.c.resolved_at))
            .where(table.c.rule == rule, table.c.resolved_at.is_not(None))
            .group_by(table.c.scope_key)
        )
        async with self.store.engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        return {key: as_utc(at) for key, at in rows if at is not None}

    async def last_firing(self) -> dict[str, Incident]:
        """Each rule's newest incident."""
        newest = (
            select(table.c.rule, func.max(table.c.started_at).label("at"))
            .group_by(table.c.rule)
            .subquery()
        )
        query = select(table).join(
            newest, (table.c.rule == newest.c.rule) & (table.c.started_at == newest.c.at)
        )
        async with self.store.engine.connect() as connection:
            return {row.rule: _incident(row) for row in await connection.execute(query)}
