"""What a rule measures, read from the ledger (every request, whatever the trace sampling).

:func:`measure` returns, per scope key (``all``; a node; a model), the metric's value over the
rule's window and how many requests it rests on. Requests counted are those that reached a
model (``ok`` or ``error``): a refusal (budget, no eligible model) and a caller's own
cancellation say nothing about the models' health.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Float, case, cast, func, literal, select
from sqlalchemy.sql import ColumnElement

from llm_gateway.alerts.conditions import Metric
from llm_gateway.alerts.rules import AlertRule
from llm_gateway.storage.schema import ledger
from llm_gateway.storage.store import RecordStore, as_utc

GLOBAL = "all"


@dataclass(frozen=True, slots=True)
class Measurement:
    value: float
    samples: int


def _scope_column(rule: AlertRule) -> ColumnElement[Any]:
    if rule.scope == "node":
        return ledger.c.node
    if rule.scope == "model":
        return ledger.c.model
    return literal(GLOBAL)


def _where(rule: AlertRule, now: datetime) -> list[ColumnElement[bool]]:
    since = now - timedelta(seconds=rule.window_s)
    where = [ledger.c.at >= since, ledger.c.at <= now, ledger.c.status.in_(("ok", "error"))]
    if rule.scope == "model":
        where.append(ledger.c.model.is_not(None))
    return where


async def measure(
    store: RecordStore,
    rule: AlertRule,
    now: datetime,
    floors: Mapping[str, datetime] | None = None,
) -> dict[str, Measurement]:
    """The rule's metric per scope key over its window ending at ``now`` (``floors``: per
    scope key, when this rule's last incident for it ended)."""
    metric = rule.condition.metric
    if metric is Metric.ERROR_RATE:
        return await _error_rate(store, rule, now)
    if metric is Metric.AVG_LATENCY:
        return await _avg_latency(store, rule, now)
    if metric is Metric.P95_LATENCY:
        return await _p95_latency(store, rule, now)
    if metric is Metric.HOURLY_COST:
        return await _hourly_cost(store, rule, now)
    if metric is Metric.MODEL_CONSECUTIVE_FAILURES:
        return await _consecutive_failures(store, rule, now, floors or {})
    raise ValueError(f"{metric} is not measured from the ledger")


async def _grouped(store: RecordStore, query: Any) -> list[Any]:
    async with store.engine.connect() as connection:
        return list((await connection.execute(query)).all())


async def _error_rate(store: RecordStore, rule: AlertRule, now: datetime) -> dict[str, Measurement]:
    scope = _scope_column(rule).label("scope")
    errors = func.sum(case((ledger.c.status == "error", 1), else_=0))
    query = select(scope, func.count(), errors).where(*_where(rule, now)).group_by(scope)
    return {
        str(key): Measurement(int(failed or 0) / int(count), int(count))
        for key, count, failed in await _grouped(store, query)
        if count
    }


async def _avg_latency(
    store: RecordStore, rule: AlertRule, now: datetime
) -> dict[str, Measurement]:
    scope = _scope_column(rule).label("scope")
    query = (
        select(scope, func.count(), func.avg(ledger.c.latency_ms))
        .where(*_where(rule, now))
        .group_by(scope)
    )
    return {
        str(key): Measurement(float(avg or 0.0), int(count))
        for key, count, avg in await _grouped(store, query)
        if count
    }


async def _p95_latency(
    store: RecordStore, rule: AlertRule, now: datetime
) -> dict[str, Measurement]:
    """Nearest-rank 95th percentile per scope key (scope keys are configured nodes or models:
    a bounded number of indexed reads)."""
    scope_column = _scope_column(rule)
    where = _where(rule, now)
    counts = await _grouped(
        store, select(scope_column.label("scope"), func.count()).where(*where).group_by("scope")
    )
    out: dict[str, Measurement] = {}
    async with store.engine.connect() as connection:
        for key, count in counts:
            scoped = [*where] if rule.scope == "global" else [*where, scope_column == key]
            offset = min(int(count) - 1, int(0.95 * (int(count) - 1) + 0.5))
            query = (
                select(ledger.c.latency_ms)
                .where(*scoped)
                .order_by(ledger.c.latency_ms)
                .offset(offset)
                .limit(1)
            )
            value = (await connection.execute(query)).scalar()
            out[str(key)] = Measurement(float(value or 0.0), int(count))
    return out


async def _hourly_cost(
    store: RecordStore, rule: AlertRule, now: datetime
) -> dict[str, Measurement]:
    """USD spent over the window, scaled to one hour (refusals cost nothing; failed attempts
    are not billed, so every request of the window counts)."""
    scope = _scope_column(rule).label("scope")
    since = now - timedelta(seconds=rule.window_s)
    where = [ledger.c.at >= since, ledger.c.at <= now]
    if rule.scope == "model":
        where.append(ledger.c.model.is_not(None))
    totals: dict[str, Decimal] = defaultdict(Decimal)
    counts: dict[str, int] = defaultdict(int)
    # Summed by the database in one aggregate. SQLite keeps exact decimals as text: there the
    # sum is of their REAL values (a threshold in dollars needs no tenth decimal), where reading
    # every row of the window into Python would cost the replica more, the busier it is.
    amount: ColumnElement[Any] = ledger.c.cost_usd
    if store.dialect != "postgresql":
        amount = cast(ledger.c.cost_usd, Float)
    query = select(scope, func.count(), func.sum(amount)).where(*where)
    for key, count, total in await _grouped(store, query.group_by(scope)):
        totals[str(key)] += Decimal(str(total or 0))
        counts[str(key)] += int(count)
    scale = Decimal(3600) / Decimal(str(rule.window_s))
    return {key: Measurement(float(total * scale), counts[key]) for key, total in totals.items()}


async def _consecutive_failures(
    store: RecordStore, rule: AlertRule, now: datetime, floors: Mapping[str, datetime]
) -> dict[str, Measurement]:
    """Per model: failed requests (the model answering or tried last) since its newest success
    within the window — or since the end of this rule's last incident for it, if later (the
    failures that fired it do not fire it again once it is resolved)."""
    where = _where(rule, now)
    last_ok = dict(
        await _grouped(
            store,
            select(ledger.c.model, func.max(ledger.c.at))
            .where(*where, ledger.c.status == "ok")
            .group_by(ledger.c.model),
        )
    )
    models = [m for (m,) in await _grouped(store, select(ledger.c.model).where(*where).distinct())]
    out: dict[str, Measurement] = {}
    async with store.engine.connect() as connection:
        for model in models:
            after = [t for t in (last_ok.get(model), floors.get(str(model))) if t is not None]
            query = select(func.count()).where(
                *where, ledger.c.model == model, ledger.c.status == "error"
            )
            if after:
                query = query.where(ledger.c.at > max(as_utc(t) for t in after))
            failed = int((await connection.execute(query)).scalar() or 0)
            out[str(model)] = Measurement(float(failed), 1)
    return out
