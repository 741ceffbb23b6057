"""Per node, answering model and arm over a window: the ledger summed by the database.

One ``GROUP BY`` query; Python only adds up the few groups. Token counts are split the way
:func:`llm_gateway.cost.compute_cost` prices them (cached input apart from the rest of the input,
reasoning apart from the rest of the output; a detail count larger than its parent was reported
beside it), so a candidate's cost for the same tokens is four sums times its four prices.

Costs are exact on both databases (:mod:`llm_gateway.storage.decimal_sums`). Shadow requests
(``arm = 'shadow'``) are left out: they are an experiment's spend, not the traffic the report
is about.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import case, func, or_, select
from sqlalchemy.sql import ColumnElement

from llm_gateway.storage.decimal_sums import cost_from, cost_sum_columns
from llm_gateway.storage.schema import ledger
from llm_gateway.storage.store import RecordStore, as_utc


@dataclass(frozen=True, slots=True)
class TokenSums:
    """Tokens of a set of requests, split by the price each bucket is billed at."""

    uncached_input: int = 0
    cached_input: int = 0
    visible_output: int = 0
    reasoning: int = 0

    def __add__(self, other: TokenSums) -> TokenSums:
        return TokenSums(
            self.uncached_input + other.uncached_input,
            self.cached_input + other.cached_input,
            self.visible_output + other.visible_output,
            self.reasoning + other.reasoning,
        )

    @property
    def input(self) -> int:
        return self.uncached_input + self.cached_input

    @property
    def output(self) -> int:
        return self.visible_output + self.reasoning


@dataclass(frozen=True, slots=True)
class LedgerGroup:
    """The requests of one (node, model, arm): counts, latency of the successful ones, tokens
    and exact cost. ``arm`` is None for rows written before arms were recorded (the gateway)."""

    node: str
    model: str | None
    arm: str | None
    requests: int
    errors: int
    ok_latency_ms_sum: float
    tokens: TokenSums
    cost: Decimal
    first_at: datetime | None


def _token_buckets() -> list[ColumnElement[Any]]:
    c = ledger.c
    uncached = case(
        (c.cached_tokens > c.input_tokens, c.input_tokens), else_=c.input_tokens - c.cached_tokens
    )
    visible = case(
        (c.reasoning_tokens > c.output_tokens, c.output_tokens),
        else_=c.output_tokens - c.reasoning_tokens,
    )
    return [func.sum(uncached), func.sum(c.cached_tokens), func.sum(visible),
            func.sum(c.reasoning_tokens)]  # fmt: skip


async def ledger_groups(store: RecordStore, since: datetime, until: datetime) -> list[LedgerGroup]:
    """Every (node, model, arm) with rows in ``[since, until)``, shadow rows left out."""
    c = ledger.c
    ok = c.status == "ok"
    costs = cost_sum_columns(store.dialect)
    query = (
        select(
            c.node,
            c.model,
            c.arm,
            func.count(),
            func.sum(case((ok, 0), else_=1)),
            func.sum(case((ok, c.latency_ms), else_=0.0)),
            func.min(c.at),
            *_token_buckets(),
            *costs,
        )
        .where(c.at >= since, c.at < until, or_(c.arm.is_(None), c.arm != "shadow"))
        .group_by(c.node, c.model, c.arm)
    )
    async with store.engine.connect() as connection:
        rows = (await connection.execute(query)).all()
    groups = []
    for row in rows:
        node, model, arm, count, errors, latency, first_at = row[:7]
        tokens = TokenSums(*(int(v or 0) for v in row[7:11]))
        cost = cost_from(row[11:])
        groups.append(
            LedgerGroup(
                node=node,
                model=model,
                arm=arm,
                requests=int(count),
                errors=int(errors or 0),
                ok_latency_ms_sum=float(latency or 0.0),
                tokens=tokens,
                cost=cost,
                first_at=as_utc(first_at) if first_at is not None else None,
            )
        )
    return groups
