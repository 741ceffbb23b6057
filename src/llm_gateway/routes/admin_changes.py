"""Making an admin change durable before it is applied.

With a record store, the state rows and the audit entry describing them are committed in one
transaction (a store that cannot take them answers 503 and nothing is applied); then the entry
is kept in the in-memory log and the optional JSON-lines export. Without one, only the latter.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request

from llm_gateway.audit import AuditEntry
from llm_gateway.routes.deps import gateway_of, services_of
from llm_gateway.storage.runtime import DISABLED, OVERRIDE

__all__ = ["DISABLED", "OVERRIDE", "commit_change"]


async def commit_change(
    request: Request, changes: list[tuple[str, str, Any]], entry: AuditEntry | None
) -> None:
    records = gateway_of(request).records
    if records is not None:
        await records.commit(changes, entry.as_dict() if entry is not None else None)
    if entry is not None:
        services_of(request).audit.remember(entry)
