"""Reads of the shadow comparisons: recent rows, the rows of a window, a day's shadow spend.

Plain values out (dicts with ISO times and decimal costs as floats), so the admin API, the cost
report and scripts read the same numbers; the arithmetic over them is in
:mod:`llm_gateway.rollout.shadow_summary`.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from llm_gateway.storage.schema import shadow_comparisons as table
from llm_gateway.storage.store import RecordStore, as_utc

MAX_WINDOW_ROWS = 50_000  # a summary reads at most this many of the newest rows of its window


async def comparison_rows(
    store: RecordStore,
    since: datetime,
    *,
    node: str | None = None,
    limit: int = MAX_WINDOW_ROWS,
) -> list[dict[str, Any]]:
    """The comparisons at or after ``since`` (``node``'s only, when given), newest first."""
    query = select(table).where(table.c.at >= since).order_by(table.c.at.desc()).limit(limit)
    if node:
        query = query.where(table.c.node == node)
    async with store.engine.connect() as connection:
        rows = (await connection.execute(query)).mappings().all()
    return [_plain(row) for row in rows]


async def shadow_spend(store: RecordStore, since: datetime) -> Decimal:
    """What the shadow (v2) calls recorded since ``since`` cost, exactly."""
    query = select(table.c.v2_cost_usd).where(table.c.at >= since)
    async with store.engine.connect() as connection:
        costs = (await connection.execute(query)).scalars().all()
    return sum((Decimal(c) for c in costs if c is not None), Decimal(0))


def _plain(row: Any) -> dict[str, Any]:
    out = dict(row)
    out["at"] = as_utc(out["at"]).isoformat(timespec="milliseconds")
    for name in ("v1_cost_usd", "v2_cost_usd"):
        if out[name] is not None:
            out[name] = float(out[name])
    return out
