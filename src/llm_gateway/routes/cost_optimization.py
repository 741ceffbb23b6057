"""The admin API's cost views over the ledger (:mod:`llm_gateway.costs`): the savings report
of ``GET /cost-optimization`` and the 30-day evidence of ``GET /recommendations/{node}``.

Both read the record store this replica writes to, after flushing its queued ledger rows, so a
request answered a moment ago is counted. With ``ENABLE_COST_OPTIMIZATION`` off they answer
``{"enabled": false, "status": "disabled", ...}``; with no ledger rows, ``status: "no_data"``
and a message, never invented numbers.
"""

from __future__ import annotations

from typing import Any

from llm_gateway.costs import disabled_report
from llm_gateway.costs.service import NO_STORE, read_cost_report, read_ranking
from llm_gateway.errors import GatewayError
from llm_gateway.gateway import LLMGateway
from llm_gateway.model_selector import SelectionContext


def cost_optimization_enabled(gateway: LLMGateway) -> bool:
    return bool(gateway.settings.ENABLE_COST_OPTIMIZATION)


def _current_model(gateway: LLMGateway, node: str) -> str | None:
    try:
        return gateway.selector.select(SelectionContext(node_name=node)).selected_model.logical_id
    except GatewayError:
        return None


async def cost_optimization_report(gateway: LLMGateway, days: float) -> dict[str, Any]:
    """The ledger's savings report over the last ``days`` (see :mod:`llm_gateway.costs`)."""
    if not cost_optimization_enabled(gateway):
        return disabled_report()
    records = gateway.records
    if records is None:
        return dict(NO_STORE)
    await records.writer.flush()
    disabled = gateway.signals.snapshot().disabled
    report = await read_cost_report(
        records.store, gateway.registry.catalog, days=days, disabled=disabled
    )
    for entry in report["nodes"]:
        entry["current_model"] = _current_model(gateway, entry["node"])
    return report


async def ledger_evidence(gateway: LLMGateway, node: str) -> dict[str, Any]:
    """The node's candidates ranked on the last 30 days of the ledger."""
    if not cost_optimization_enabled(gateway):
        return disabled_report()
    records = gateway.records
    if records is None:
        return dict(NO_STORE)
    await records.writer.flush()
    return await read_ranking(
        records.store, gateway.registry.catalog, node, disabled=gateway.signals.snapshot().disabled
    )
