"""Admin: shadow traffic's evidence.

GET /shadow?hours=24&node=&limit=20   whether shadowing is on and at what share, its budget and
                                      bounds, and per node how v2's outputs compare to v1's
                                      (similarity, latency p50/p95, cost per request, error
                                      rate, output length), with the most recent comparisons

From the record store when the gateway has one (every replica's comparisons), else from this
process's recent runs (at most the last 200).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Query, Request

from llm_gateway.rollout.shadow import DROP_REASONS, ShadowRunner, shadow_runner
from llm_gateway.rollout.shadow_summary import summarize
from llm_gateway.routes.deps import gateway_of
from llm_gateway.routes.route_classes import GatewayRoute
from llm_gateway.storage.shadow_queries import comparison_rows
from llm_gateway.storage.store import as_utc

router = APIRouter(route_class=GatewayRoute)

SIMILARITY_MEASURE = (
    "mean of the Jaccard indices of the two outputs' word sets and word bigrams "
    "(llm_gateway.similarity)"
)


@router.get("/shadow", summary="Shadow traffic: v2 run beside v1, compared")
async def get_shadow(
    request: Request,
    hours: float = Query(default=24.0, gt=0, le=24 * 366),
    node: str | None = Query(default=None, max_length=128),
    limit: int = Query(default=20, ge=0, le=200),
) -> dict[str, Any]:
    gateway = gateway_of(request)
    runner = shadow_runner(gateway)
    since = datetime.now(UTC) - timedelta(hours=hours)
    if gateway.records is not None:
        await gateway.records.writer.flush()
        rows = await comparison_rows(gateway.records.store, since, node=node)
        source = "record_store"
        runner.observe_recorded()
    else:
        rows = _recent_in_memory(runner, since, node)
        source = "process"
    return {
        "enabled": runner.percentage > 0,
        "percentage": runner.percentage,
        "concurrency": {"limit": runner.concurrency, "in_flight": runner.in_flight},
        "in_flight": runner.in_flight,
        "dropped": {reason: runner.dropped[reason] for reason in DROP_REASONS},
        "budget": runner.budget.view(runner.cap),
        "similarity_measure": SIMILARITY_MEASURE,
        "window_hours": hours,
        "source": source,
        "summary": summarize(rows),
        "recent": rows[:limit],
    }


def _recent_in_memory(runner: ShadowRunner, since: datetime, node: str | None) -> list[Any]:
    rows = []
    for row in reversed(list(runner.recent)):
        if as_utc(row.at) < since or (node and row.node != node):
            continue
        plain = row.as_row()
        plain["at"] = as_utc(row.at).isoformat(timespec="milliseconds")
        for name in ("v1_cost_usd", "v2_cost_usd"):
            if plain[name] is not None:
                plain[name] = float(plain[name])
        rows.append(plain)
    return rows
