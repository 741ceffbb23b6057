"""Reports read from the record store: the guide's trace metrics (from the ledger, which has
every request), traces, ledger pages and per-model observations for selection.

Every function takes the store and plain filters and returns plain values, so the HTTP admin
API, the CLI and the guide's ``get_tracer()`` in another process all read the same numbers.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.sql import ColumnElement

from llm_gateway.storage.schema import ledger, traces
from llm_gateway.storage.store import RecordStore, as_utc


def _since(hours: float) -> datetime:
    return datetime.now(UTC) - timedelta(hours=hours)


def _filters(
    since: datetime, node: str | None, model: str | None, until: datetime | None = None
) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [ledger.c.at >= since]
    if until is not None:
        where.append(ledger.c.at < until)
    if node:
        where.append(ledger.c.node == node)
    if model:
        where.append(ledger.c.model == model)
    return where


async def trace_metrics(
    store: RecordStore, hours: float = 1.0, *, node: str | None = None, model: str | None = None
) -> dict[str, Any]:
    """The guide's ``get_trace_metrics`` over the ledger: every request of the window."""
    where = _filters(_since(hours), node, model)
    errors = func.sum(case((ledger.c.status == "ok", 0), else_=1))
    fallbacks = func.sum(case((ledger.c.fallback_used, 1), else_=0))
    totals = select(
        func.count(),
        errors,
        func.avg(ledger.c.latency_ms),
        func.avg(ledger.c.ttft_ms),
        fallbacks,
    ).where(*where)
    async with store.engine.connect() as connection:
        count, error_count, avg_ms, avg_ttft, fallback_count = (
            await connection.execute(totals)
        ).one()
        count = int(count or 0)
        p95 = p50 = 0.0
        if count:
            p50 = await _percentile(connection, where, count, 0.50)
            p95 = await _percentile(connection, where, count, 0.95)
        by_model = await connection.execute(
            select(ledger.c.model, func.count())
            .where(*where, ledger.c.model.is_not(None))
            .group_by(ledger.c.model)
        )
        models = Counter({m: int(n) for m, n in by_model})
        by_node = await connection.execute(
            select(ledger.c.node, func.count()).where(*where).group_by(ledger.c.node)
        )
        nodes = Counter({n: int(c) for n, c in by_node})
        by_caps = await connection.execute(
            select(ledger.c.capabilities, func.count())
            .where(*where, ledger.c.capabilities.is_not(None))
            .group_by(ledger.c.capabilities)
        )
        capabilities: Counter[str] = Counter()
        for combo, n in by_caps:
            for capability in filter(None, (combo or "").split(",")):
                capabilities[capability] += int(n)
        total_cost = await _total_cost(store, connection, where)
    error_count = int(error_count or 0)
    return {
        "hours": hours,
        "node": node,
        "model": model,
        "source": "record_store",
        "request_count": count,
        "error_count": error_count,
        "error_rate": error_count / count if count else 0.0,
        "avg_duration_ms": float(avg_ms or 0.0),
        "avg_latency": float(avg_ms or 0.0),
        "p50_duration_ms": p50,
        "p95_duration_ms": p95,
        "avg_ttft_ms": float(avg_ttft) if avg_ttft is not None else None,
        "total_cost": float(total_cost),
        "total_cost_usd": format(total_cost, "f"),
        "cost_per_request": float(total_cost / count) if count else 0.0,
        "fallback_rate": int(fallback_count or 0) / count if count else 0.0,
        "model_distribution": dict(models.most_common()),
        "capability_usage": dict(capabilities.most_common()),
        "node_distribution": dict(nodes.most_common()),
    }


async def _percentile(connection: Any, where: list[Any], count: int, q: float) -> float:
    offset = min(count - 1, int(q * (count - 1) + 0.5))
    query = select(ledger.c.latency_ms).where(*where).order_by(ledger.c.latency_ms)
    value = (await connection.execute(query.offset(offset).limit(1))).scalar()
    return float(value or 0.0)


async def _total_cost(store: RecordStore, connection: Any, where: list[Any]) -> Decimal:
    if store.dialect == "postgresql":
        total = (
            await connection.execute(select(func.sum(ledger.c.cost_usd)).where(*where))
        ).scalar()
        return Decimal(total or 0)
    # SQLite keeps the exact decimal as text; sum it exactly here, streaming the column.
    result = await connection.stream(select(ledger.c.cost_usd).where(*where))
    total = Decimal(0)
    async for (value,) in result:
        total += value
    return total


async def spend_since(
    store: RecordStore,
    since: datetime,
    *,
    node: str | None = None,
    model: str | None = None,
    client_key: str | None = None,
) -> Decimal:
    """Exact total cost of the ledger's rows at or after ``since`` (the budgets' rebuild)."""
    where = _filters(since, node, model)
    if client_key is not None:
        where.append(ledger.c.client_key_id == client_key)
    async with store.engine.connect() as connection:
        return await _total_cost(store, connection, where)


async def model_observations(store: RecordStore, hours: float) -> dict[str, dict[str, float]]:
    """Per model over the window: requests, errors, mean latency of its successful requests."""
    where = [*_filters(_since(hours), None, None), ledger.c.model.is_not(None)]
    ok = ledger.c.status == "ok"
    query = (
        select(
            ledger.c.model,
            func.count(),
            func.sum(case((ok, 0), else_=1)),
            func.avg(case((ok, ledger.c.latency_ms), else_=None)),
        )
        .where(*where)
        .group_by(ledger.c.model)
    )
    async with store.engine.connect() as connection:
        rows = (await connection.execute(query)).all()
    return {
        model: {"samples": int(n), "errors": int(e or 0), "latency_ms": float(lat or 0.0)}
        for model, n, e, lat in rows
    }


async def list_traces(
    store: RecordStore,
    hours: float = 1.0,
    limit: int = 100,
    *,
    node: str | None = None,
    model: str | None = None,
    errors_only: bool = False,
    status: str | None = None,
) -> list[dict[str, Any]]:
    """Kept traces of the last ``hours``, newest first; ``status`` is the request's outcome
    (``ok``, ``error``, ``refused``, ``cancelled``), ``errors_only`` every one but ``ok``."""
    query = select(traces.c.body).where(traces.c.at >= _since(hours))
    if node:
        query = query.where(traces.c.node == node)
    if model:
        query = query.where(traces.c.model == model)
    if errors_only:
        query = query.where(traces.c.ok.is_(False))
    if status:
        query = query.where(traces.c.status == status)
    query = query.order_by(traces.c.at.desc()).limit(limit)
    async with store.engine.connect() as connection:
        return [row.body for row in await connection.execute(query)]


async def get_trace(store: RecordStore, trace_id: str, limit: int = 100) -> dict[str, Any] | None:
    """The newest request of ``trace_id`` with ``request_count`` and, when more than one,
    ``requests`` (newest first)."""
    query = (
        select(traces.c.body)
        .where(traces.c.trace_id == trace_id)
        .order_by(traces.c.at.desc())
        .limit(limit)
    )
    async with store.engine.connect() as connection:
        bodies = [row.body for row in await connection.execute(query)]
    if not bodies:
        return None
    newest = dict(bodies[0])
    newest["request_count"] = len(bodies)
    if len(bodies) > 1:
        newest["requests"] = bodies
    return newest


LEDGER_COLUMNS = tuple(c.name for c in ledger.columns)


def _ledger_json(row: Any) -> dict[str, Any]:
    out = dict(row._mapping)
    out["at"] = as_utc(out["at"]).isoformat(timespec="microseconds")
    out["cost_usd"] = format(out["cost_usd"], "f")
    return out


async def ledger_page(
    store: RecordStore,
    *,
    start: datetime,
    end: datetime,
    node: str | None = None,
    model: str | None = None,
    after: tuple[datetime, str] | None = None,
    limit: int = 1000,
) -> list[dict[str, Any]]:
    """Rows in ``[start, end)`` ordered by (at, id); ``after`` is the cursor of the last row."""
    where = _filters(start, node, model, end)
    if after is not None:
        at, row_id = after
        where.append(or_(ledger.c.at > at, and_(ledger.c.at == at, ledger.c.id > row_id)))
    query = select(ledger).where(*where).order_by(ledger.c.at, ledger.c.id).limit(limit)
    async with store.engine.connect() as connection:
        return [_ledger_json(row) for row in await connection.execute(query)]


async def ledger_count(
    store: RecordStore, *, start: datetime, end: datetime, node: str | None, model: str | None
) -> int:
    query = select(func.count()).where(*_filters(start, node, model, end))
    async with store.engine.connect() as connection:
        return int((await connection.execute(query)).scalar() or 0)


async def iter_ledger(
    store: RecordStore,
    *,
    start: datetime,
    end: datetime,
    node: str | None = None,
    model: str | None = None,
    page: int = 5000,
) -> AsyncIterator[list[dict[str, Any]]]:
    """Every row of the window, page by page (keyset pagination: constant cost per page)."""
    after: tuple[datetime, str] | None = None
    while True:
        rows = await ledger_page(
            store, start=start, end=end, node=node, model=model, after=after, limit=page
        )
        if not rows:
            return
        yield rows
        last = rows[-1]
        after = (datetime.fromisoformat(last["at"]), last["id"])
        if len(rows) < page:
            return


async def ledger_ids_stored(store: RecordStore, ids: list[str]) -> set[str]:
    """Which of ``ids`` the ledger has (by id alone: the primary key's leading column)."""
    if not ids:
        return set()
    query = select(ledger.c.id).where(ledger.c.id.in_(ids))
    async with store.engine.connect() as connection:
        return {str(row_id) for (row_id,) in await connection.execute(query)}


__all__ = [
    "LEDGER_COLUMNS",
    "get_trace",
    "iter_ledger",
    "ledger_count",
    "ledger_ids_stored",
    "ledger_page",
    "list_traces",
    "model_observations",
    "spend_since",
    "trace_metrics",
]
