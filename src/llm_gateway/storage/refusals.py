"""Rows the database refuses, told apart from a database that does not answer.

A database that is down, slow or locked is an outage: the writer keeps the batch and retries it.
A row the database refuses as such — a value longer than its column, a missing required value —
would be refused forever, and, delivered oldest first, would hold back every row after it. Such
a batch is split until the refused rows are alone; the others are inserted, the refused ones
are handed back with the database's reason (the writer keeps them in the spool's ``rejected/``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, StatementError

from llm_gateway.storage.store import reason

if TYPE_CHECKING:
    from llm_gateway.storage.records import LedgerRow
    from llm_gateway.storage.spool import Spool

logger = logging.getLogger("llm_gateway.storage")

_T = TypeVar("_T")


# SQLSTATE classes of errors about the data sent: 22 data exception, 23 integrity violation.
_DATA_CLASSES = ("22", "23")


def refused_as_data(exc: BaseException) -> bool:
    """True when ``exc`` is about the rows sent, not about reaching the database."""
    if isinstance(exc, DataError | IntegrityError):
        return True
    if isinstance(exc, DBAPIError):
        # asyncpg's data errors reach SQLAlchemy as a plain DBAPIError: read their SQLSTATE.
        state = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
        return isinstance(state, str) and state[:2] in _DATA_CLASSES
    # A value SQLAlchemy could not bind (never sent): a StatementError that is no DBAPIError.
    return isinstance(exc, StatementError)


async def insert_isolating(
    insert: Callable[[Sequence[_T]], Awaitable[object]], items: Sequence[_T]
) -> list[tuple[_T, str]]:
    """Insert ``items`` (idempotent ``insert``, one transaction per call); return those refused
    as data, each with the reason. Errors of any other kind (an outage) are raised."""
    try:
        await insert(items)
        return []
    except Exception as exc:
        if not refused_as_data(exc):
            raise
        if len(items) == 1:
            return [(items[0], reason(exc))]
    middle = len(items) // 2
    refused = await insert_isolating(insert, items[:middle])
    return refused + await insert_isolating(insert, items[middle:])


async def keep_refused(
    spool: Spool,
    store: str,
    refused: list[tuple[LedgerRow, str]],
    unreadable: list[dict[str, Any]],
) -> int:
    """Keep the rows the database refused, or that cannot be read back, out of the way of the
    others: in the spool's ``rejected/`` folder, said loudly. Returns how many were kept."""
    kept = [row.to_json() for row, _ in refused] + unreadable
    path = await asyncio.to_thread(spool.reject, kept)
    logger.error(
        "record store %s refused %d ledger rows (%s): kept in %s; once the cause is fixed, "
        "move the file into %s to deliver them",
        store,
        len(kept),
        refused[0][1] if refused else "not a ledger row",
        path,
        spool.directory,
    )
    return len(kept)
