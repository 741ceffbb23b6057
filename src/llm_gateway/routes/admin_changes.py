"""Making an admin change durable, then live on every replica.

With a record store, the state rows and the audit entry describing them are committed in one
transaction (a store that cannot take them answers 503 and nothing is applied); the entry is
kept in the in-memory log and the optional JSON-lines export; then the control plane shares the
change with every replica (state store) and reports how many applied it.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import Request

from llm_gateway.audit import AuditEntry, AuditLog
from llm_gateway.routes.deps import gateway_of, services_of
from llm_gateway.state.control import ControlPlane, override_from
from llm_gateway.storage.runtime import DISABLED, FLAG, OVERRIDE

__all__ = ["DISABLED", "OVERRIDE", "commit_change", "control_of", "share_change"]

logger = logging.getLogger("llm_gateway.admin")


async def commit_change(
    request: Request, changes: list[tuple[str, str, Any]], entry: AuditEntry | None
) -> dict[str, Any]:
    """Make the change durable, then live on every replica; return how many applied it
    (``applied_by`` of ``replicas``, and the ``pending`` ones when some did not in time)."""
    return await share_change(
        gateway_of(request), services_of(request).audit, control_of(request), changes, entry
    )


async def share_change(
    gateway: Any,
    audit: AuditLog | None,
    control: ControlPlane | None,
    changes: list[tuple[str, str, Any]],
    entry: AuditEntry | None,
) -> dict[str, Any]:
    """:func:`commit_change` without a request: for changes the gateway makes itself (an
    alert's ``auto_disable_model``)."""
    records = gateway.records
    if records is not None:
        await records.commit(changes, entry.as_dict() if entry is not None else None)
    if entry is not None and audit is not None:
        audit.remember(entry)
    if not changes:
        return {}
    if control is not None:
        shared = await control.change(changes)
    else:
        apply_locally(gateway, changes)
        shared = {"applied_by": 1, "replicas": 1, "pending": []}
    if entry is not None:
        logger.info(
            "admin %s %s by %s: applied by %s of %s replicas",
            entry.action,
            entry.target,
            entry.actor,
            shared.get("applied_by"),
            shared.get("replicas") or "?",
        )
    return shared


def control_of(request: Request) -> ControlPlane | None:
    return getattr(request.app.state, "control", None)


def apply_locally(gateway: Any, changes: list[tuple[str, str, Any]]) -> None:
    """A host app's gateway without a control plane: this process only."""
    for kind, key, value in changes:
        if kind == OVERRIDE:
            if value is None:
                gateway.signals.clear_override(key)
            else:
                gateway.signals.set_override(key, override_from(value))
        elif kind == DISABLED:
            gateway.signals.set_disabled(key, value is not None)
        elif kind == FLAG:
            gateway.flags.apply_change(kind, key, value)
