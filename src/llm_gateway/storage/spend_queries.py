"""Spend over time: the ledger's requests and exact cost per time bucket and per node or model,
summed by the database in one ``GROUP BY`` (SQLite and PostgreSQL alike).

Buckets are aligned on multiples of ``bucket_s`` seconds since the Unix epoch (UTC), so the
same request falls in the same bucket whatever window is asked for. Every row counts, shadow
traffic included: it is real spend, as the budgets count it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import BigInteger, Integer, cast, func, literal_column, select
from sqlalchemy.sql import ColumnElement

from llm_gateway.storage.decimal_sums import cost_from, cost_sum_columns
from llm_gateway.storage.schema import ledger
from llm_gateway.storage.store import RecordStore

SpendKey = Literal["node", "model"]
_KEYS = {"node": ledger.c.node, "model": ledger.c.model}


@dataclass(frozen=True, slots=True)
class SpendCell:
    """The requests of one bucket and key: ``bucket_start`` in epoch seconds; ``key`` the node
    or the model (None for requests no model answered, e.g. refused ones)."""

    bucket_start: int
    key: str | None
    requests: int
    cost: Decimal


def _bucket_start(dialect: str, bucket_s: int) -> ColumnElement[Any]:
    # The size is inlined (a validated int), not bound: the GROUP BY repeats the expression,
    # and PostgreSQL matches it to the SELECT's only when both are the same text.
    size = literal_column(str(int(bucket_s)), Integer)
    if dialect == "postgresql":
        epoch = func.extract("epoch", ledger.c.at)
        return cast(func.floor(epoch / size) * size, BigInteger)
    seconds = cast(func.strftime("%s", ledger.c.at), Integer)
    return (seconds // size) * size


async def spend_cells(
    store: RecordStore,
    *,
    start: datetime,
    end: datetime,
    bucket_s: int,
    by: SpendKey,
    node: str | None = None,
    model: str | None = None,
) -> list[SpendCell]:
    """Every (bucket, key) with rows in ``[start, end)``, optionally one node's or model's."""
    key = _KEYS[by]
    bucket = _bucket_start(store.dialect, bucket_s)
    costs = cost_sum_columns(store.dialect)
    query = select(bucket, key, func.count(), *costs).where(ledger.c.at >= start, ledger.c.at < end)
    if node:
        query = query.where(ledger.c.node == node)
    if model:
        query = query.where(ledger.c.model == model)
    query = query.group_by(bucket, key)
    async with store.engine.connect() as connection:
        rows = (await connection.execute(query)).all()
    return [
        SpendCell(
            bucket_start=int(row[0]), key=row[1], requests=int(row[2]), cost=cost_from(row[3:])
        )
        for row in rows
    ]
