"""The gateway this example runs in its own process, with a ledger it can read back.

``in_process_gateway(ledger_path)`` builds an ``LLMGateway`` from the environment (so
``GATEWAY_SIMULATE=true`` serves every model from the built-in simulator, and
``OPENROUTER_API_KEY`` without it would call OpenRouter), installs it as the process's gateway —
what ``get_node_client_factory()``'s clients call, with no HTTP hop — and attaches a record store
in a SQLite file at ``ledger_path``: every request's ledger row, with its exact ``Decimal`` cost.
The gateway and the store live on the node clients' event loop (``background_loop()``).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from llm_gateway.gateway import LLMGateway, build_gateway, set_llm_gateway
from llm_gateway.model_policy import ModelPolicyRegistry
from llm_gateway.node_integration import set_node_client_factory
from llm_gateway.node_integration.loop_thread import background_loop
from llm_gateway.providers.registry import FACTORIES, ProviderRegistry
from llm_gateway.settings import Settings, load_settings
from llm_gateway.storage.queries import iter_ledger
from llm_gateway.storage.runtime import GatewayRecords


class SetupError(Exception):
    """The environment cannot run the example as asked (the message says what to change)."""


@dataclass(frozen=True)
class LedgerEntry:
    """One ledger row of the run: what the gateway recorded for one request."""

    at: str
    node: str  # the gateway's node
    model: str
    status: str
    input_tokens: int
    output_tokens: int
    cost_usd: Decimal
    cost_source: str
    stream: bool


class PipelineGateway:
    """The in-process gateway and its record store."""

    def __init__(self, gateway: LLMGateway, records: GatewayRecords, started: datetime) -> None:
        self.gateway = gateway
        self.records = records
        self.started = started

    @property
    def simulated(self) -> bool:
        return self.gateway.settings.use_simulator

    async def ledger(self, trace_id: str) -> list[LedgerEntry]:
        """The ledger rows of ``trace_id``, oldest first, once the writer has delivered them."""
        return await background_loop().arun(self._ledger(trace_id))

    async def _ledger(self, trace_id: str) -> list[LedgerEntry]:
        await self.records.writer.flush()
        end = datetime.now(UTC) + timedelta(minutes=1)
        rows: list[dict[str, Any]] = []
        async for page in iter_ledger(self.records.store, start=self.started, end=end):
            rows.extend(row for row in page if row["trace_id"] == trace_id)
        return [_entry(row) for row in rows]


def _entry(row: dict[str, Any]) -> LedgerEntry:
    return LedgerEntry(
        at=str(row["at"]),
        node=str(row["node"]),
        model=str(row["model"] or ""),
        status=str(row["status"]),
        input_tokens=int(row["input_tokens"]),
        output_tokens=int(row["output_tokens"]),
        cost_usd=Decimal(row["cost_usd"]),
        cost_source=str(row["cost_source"]),
        stream=bool(row["stream"]),
    )


def example_settings(ledger_path: Path, spool_dir: Path) -> Settings:
    """The environment's settings, with this run's ledger file and no audit log."""
    if os.environ.get("GATEWAY_URL"):
        raise SetupError(
            "GATEWAY_URL is set: the node clients would call that gateway, and this example "
            "runs its own in process — unset GATEWAY_URL"
        )
    settings = load_settings(
        DATABASE_URL=f"sqlite+aiosqlite:///{ledger_path}",
        GATEWAY_LEDGER_SPOOL_DIR=spool_dir,
        GATEWAY_AUDIT_LOG_FILE=None,
    )
    if not settings.use_simulator and settings.OPENROUTER_API_KEY is None:
        raise SetupError(
            "no provider: set GATEWAY_SIMULATE=true for the built-in simulator (make example "
            "does), or OPENROUTER_API_KEY for OpenRouter"
        )
    return settings


def _providers(settings: Settings, registry: ModelPolicyRegistry, zero_latency: bool) -> Any:
    if not zero_latency:
        return None  # build_gateway's own: the simulator with realistic latency
    from llm_gateway.providers.simulated import SimulatedProvider

    factories = {
        **FACTORIES,
        "simulated": lambda _config, _settings: SimulatedProvider(zero_latency=True),
    }
    return ProviderRegistry(registry.catalog, settings, factories=factories)


@contextlib.asynccontextmanager
async def in_process_gateway(
    ledger_path: Path, *, zero_latency: bool = False
) -> AsyncIterator[PipelineGateway]:
    """The process's gateway while the block runs, its ledger in ``ledger_path`` (SQLite).

    ``zero_latency``: the simulator answers at once (tests). Raises SetupError when the
    environment names no provider or points the node clients at a remote gateway."""
    ledger_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="writing-pipeline-spool-") as spool:
        settings = example_settings(ledger_path, Path(spool))
        registry = ModelPolicyRegistry(settings.config_dir)
        gateway = build_gateway(
            settings, registry=registry, providers=_providers(settings, registry, zero_latency)
        )
        loop = background_loop()
        started = datetime.now(UTC) - timedelta(seconds=1)
        records = await loop.arun(GatewayRecords.open(settings))
        gateway.attach_records(records)
        set_llm_gateway(gateway)
        set_node_client_factory(None)  # the clients made from now on use this gateway
        try:
            yield PipelineGateway(gateway, records, started)
        finally:
            set_llm_gateway(None)
            gateway.attach_records(None)
            await loop.arun(records.aclose())
            await loop.arun(gateway.aclose())
