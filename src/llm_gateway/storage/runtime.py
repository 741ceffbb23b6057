"""``GatewayRecords``: the record store as one running gateway uses it — the store, the writer
that takes ledger rows and traces off the request path, and the admin state it restores.

Opened by the app's lifespan (``GatewayRecords.open(settings)``): the schema is checked (and on
SQLite migrated), the spool left by an earlier run is replayed, and the admin state is applied
to the gateway before the first request. Admin changes are written here before they are applied
(a store that cannot take them refuses the change: nothing is half-applied).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from llm_gateway.errors import GatewayError
from llm_gateway.settings import Settings
from llm_gateway.storage.engine import StorageError
from llm_gateway.storage.migrate import prepare_schema
from llm_gateway.storage.records import TraceRecord, utc_from_timestamp
from llm_gateway.storage.retention import ensure_partitions
from llm_gateway.storage.spool import Spool
from llm_gateway.storage.store import RecordStore, reason
from llm_gateway.storage.writer import RecordWriter
from llm_gateway.tracing import render_trace_json

logger = logging.getLogger("llm_gateway.storage")

OVERRIDE = "override"
DISABLED = "disabled_model"
FLAG = "flag"
BUDGET = "budget"  # an admin's caps of one budget scope (replacing budgets.yaml's)


class RecordStoreUnavailable(GatewayError):
    """503: an admin change could not be made durable, so it was not applied."""

    status_code = 503
    error_type = "service_unavailable"
    code = "record_store_unavailable"


class GatewayRecords:
    """The store and its writer for one process."""

    def __init__(self, store: RecordStore, writer: RecordWriter, revision: str) -> None:
        self.store = store
        self.writer = writer
        self.revision = revision

    @classmethod
    async def open(cls, settings: Settings) -> GatewayRecords:
        url = settings.database_url
        if url is None:
            raise StorageError("DATABASE_URL is empty: no record store")
        revision = await asyncio.to_thread(
            prepare_schema, url, auto_migrate=settings.GATEWAY_DB_AUTO_MIGRATE
        )
        store = RecordStore.open(url)
        try:
            await ensure_partitions(store)
        except Exception as exc:  # the store may be down at start: the spool takes the rows
            logger.warning("cannot prepare the ledger's partitions now: %s", reason(exc))
        writer = RecordWriter(
            store,
            Spool(Path(settings.GATEWAY_LEDGER_SPOOL_DIR)),
            max_queue=settings.GATEWAY_LEDGER_QUEUE_MAX,
            interval_s=settings.GATEWAY_LEDGER_FLUSH_MS / 1000,
            spool_after_s=settings.GATEWAY_LEDGER_SPOOL_AFTER_MS / 1000,
            max_traces=settings.GATEWAY_TRACE_QUEUE_MAX,
            spool_max_bytes=settings.GATEWAY_LEDGER_SPOOL_MAX_MB * 1024 * 1024,
            render=render_trace_json,
        )
        await writer.start()
        return cls(store, writer, revision)

    async def aclose(self) -> None:
        await self.writer.aclose()
        await self.store.aclose()

    # -- traces (the tracer's sink) ------------------------------------------------------------

    def submit(self, trace: Mapping[str, Any]) -> None:
        """A rendered trace: queued for the store (shed past the bound, counted)."""
        self.writer.offer_trace(
            TraceRecord(
                request_id=str(trace.get("request_id") or trace.get("request_key")),
                trace_id=str(trace["trace_id"]),
                at=utc_from_timestamp(float(trace["timestamp"])),
                node=str(trace.get("node_name") or "default")[:128],
                model=trace.get("model"),
                ok=bool(trace.get("ok", True)),
                status=str(trace.get("status") or "ok"),
                duration_ms=float(trace.get("duration_ms") or 0.0),
                body=dict(trace),
            )
        )

    # -- admin state ---------------------------------------------------------------------------

    async def save(self, kind: str, key: str, value: Any, actor: str | None) -> None:
        await self._guard(self.store.put_state(kind, key, value, actor))

    async def save_many(self, kind: str, values: Mapping[str, Any], actor: str | None) -> None:
        await self._guard(self.store.put_states(kind, values, actor))

    async def commit(
        self, changes: list[tuple[str, str, Any]], audit: Mapping[str, Any] | None
    ) -> None:
        """State changes and their audit entry, durably and together (503 when not taken)."""
        await self._guard(self.store.apply_admin_change(changes, audit))

    async def record_config(self, version: str, config_dir: str, actor: str | None) -> None:
        await self._guard(self.store.record_config(version, config_dir, actor))

    async def forget(self, kind: str, key: str) -> None:
        await self._guard(self.store.delete_state(kind, key))

    async def load(self, kind: str) -> dict[str, Any]:
        return await self.store.load_state(kind)

    async def _guard(self, operation: Any) -> None:
        try:
            await operation
        except Exception as exc:
            if isinstance(exc, GatewayError):
                raise
            raise RecordStoreUnavailable(
                f"the record store ({self.store.description}) did not take the change, so it was "
                f"not applied: {reason(exc)}"
            ) from None
