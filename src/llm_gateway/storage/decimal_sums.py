"""Exact sums of the ledger's decimal costs, by the database, on SQLite and PostgreSQL alike.

PostgreSQL sums its NUMERIC column. SQLite keeps exact decimals as text and has no decimal
arithmetic (its ``SUM`` of them would be a float): there the text is cut into its integer part
and three 9-digit groups of its fraction, each summed as an integer by the database and put
together here with ``Decimal`` — exact to 1e-27 USD, beyond the 18 decimals PostgreSQL keeps.
Each group's sum stays far inside SQLite's 64-bit integers (below 1e9 per row).

    columns = cost_sum_columns(store.dialect)       # aggregate columns for a GROUP BY query
    total = cost_from(row[i : i + len(columns)])    # the exact Decimal from one result row
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Integer, String, case, cast, func, literal, type_coerce
from sqlalchemy.sql import ColumnElement

from llm_gateway.storage.schema import ledger

_FRACTION_GROUPS = 3
_GROUP_DIGITS = 9


def cost_sum_columns(dialect: str, column: Any = None) -> list[ColumnElement[Any]]:
    """The aggregate columns whose values :func:`cost_from` turns into the exact sum of
    ``column`` (default the ledger's ``cost_usd``): one on PostgreSQL, four on SQLite."""
    column = ledger.c.cost_usd if column is None else column
    if dialect == "postgresql":
        return [func.sum(column)]
    text = type_coerce(column, String)
    sign = case((func.substr(text, 1, 1) == "-", -1), else_=1)
    digits = func.ltrim(text, "-")
    dot = func.instr(digits, ".")
    whole = case((dot > 0, func.substr(digits, 1, dot - 1)), else_=digits)
    fraction = case((dot > 0, func.substr(digits, dot + 1)), else_="")
    padded = type_coerce(fraction, String) + literal("0" * _GROUP_DIGITS * _FRACTION_GROUPS)
    parts = [cast(whole, Integer)] + [
        cast(func.substr(padded, 1 + i * _GROUP_DIGITS, _GROUP_DIGITS), Integer)
        for i in range(_FRACTION_GROUPS)
    ]
    return [func.sum(sign * part) for part in parts]


def cost_from(values: Sequence[Any]) -> Decimal:
    """The exact sum from the values of :func:`cost_sum_columns` in one result row (normalized;
    0 for a group with no rows)."""
    if len(values) == 1:
        total = Decimal(values[0] or 0)
    else:
        total = Decimal(int(values[0] or 0))
        for i, group in enumerate(values[1:], start=1):
            total += Decimal(int(group or 0)).scaleb(-_GROUP_DIGITS * i)
    return total.normalize() if total else Decimal(0)
