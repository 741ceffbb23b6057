"""The report read from a record store: the glue between :mod:`.ledger_sums` and the pure
report, shared by the admin API and ``llm-gateway cost-report``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from llm_gateway.config.catalog import Catalog
from llm_gateway.costs.ledger_sums import ledger_groups
from llm_gateway.costs.recommend import RANKING_DAYS, ranked_candidates
from llm_gateway.costs.report import build_cost_report
from llm_gateway.rollout.shadow_summary import shadow_summary
from llm_gateway.storage.store import RecordStore

NO_STORE = {
    "enabled": True,
    "status": "no_data",
    "message": "no record store is configured (DATABASE_URL is empty): the ledger the report "
    "is computed from is not kept",
    "nodes": [],
}


async def read_cost_report(
    store: RecordStore,
    catalog: Catalog,
    *,
    days: float,
    now: datetime | None = None,
    disabled: frozenset[str] = frozenset(),
    current_models: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The savings report over the ``days`` before ``now`` (default: the current time)."""
    now = now or datetime.now(UTC)
    groups = await ledger_groups(store, now - timedelta(days=days), now)
    shadow = await shadow_summary(store, hours=days * 24) if groups else None
    return build_cost_report(
        groups,
        catalog,
        days=days,
        now=now,
        disabled=disabled,
        current_models=current_models,
        shadow=shadow,
    )


async def read_ranking(
    store: RecordStore,
    catalog: Catalog,
    node: str,
    *,
    now: datetime | None = None,
    disabled: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """The node's eligible models ranked on the last 30 days of the ledger."""
    now = now or datetime.now(UTC)
    groups = await ledger_groups(store, now - timedelta(days=RANKING_DAYS), now)
    return ranked_candidates(node, groups, catalog, disabled)
