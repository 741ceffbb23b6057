"""Reading the record store from a process that does not serve: the guide's snippets
(``get_tracer().get_trace_metrics()``, ``get_model_selector().get_model_recommendations()``)
run in a script report the server's numbers, read from ``DATABASE_URL``.

Each call opens the store, reads and closes it (a script may run several event loops, and an
engine belongs to one). A store that does not exist yet, or is not at this code's schema,
reads as None: the caller then reports its own process's (empty) numbers.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from llm_gateway.storage import queries
from llm_gateway.storage.engine import StorageError, parse_url
from llm_gateway.storage.store import RecordStore, reason

logger = logging.getLogger("llm_gateway.storage")


def _exists(url: str) -> bool:
    try:
        parsed = parse_url(url)
    except StorageError:
        return False
    if parsed.get_backend_name() != "sqlite":
        return True
    database = parsed.database or ""
    return bool(database) and database != ":memory:" and Path(database).exists()


async def _read(url: str, read: Any) -> Any:
    if not _exists(url):
        return None
    store = RecordStore.open(url, pool_size=1)
    try:
        return await read(store)
    except (SQLAlchemyError, OSError) as exc:
        logger.warning("cannot read the record store %s: %s", store.description, reason(exc))
        return None
    finally:
        await store.aclose()


async def read_trace_metrics(
    url: str, hours: float, *, node: str | None = None, model: str | None = None
) -> dict[str, Any] | None:
    return await _read(url, lambda s: queries.trace_metrics(s, hours, node=node, model=model))


async def read_model_observations(url: str, hours: float) -> dict[str, dict[str, float]] | None:
    return await _read(url, lambda s: queries.model_observations(s, hours))
