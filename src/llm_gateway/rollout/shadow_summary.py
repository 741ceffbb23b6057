"""The evidence shadow traffic gathered, per node: how alike v2's outputs are to v1's, and each
arm's latency (p50, p95), cost per request, error rate and output length.

    await shadow_summary(records, hours=24)              # {node: {...}} over the last day
    await shadow_summary(records, hours=24, node="writer")
    summarize(rows)                                      # the same arithmetic, on plain rows

``records`` is the process's :class:`~llm_gateway.storage.runtime.GatewayRecords` or a
:class:`~llm_gateway.storage.store.RecordStore` (a script, the cost report). Latency and
output length are over the calls that answered; the error rate over all; the similarity over
the pairs where both answered; cost per request over the calls that report a cost.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from llm_gateway.storage.shadow_queries import comparison_rows
from llm_gateway.storage.store import RecordStore

ARMS = ("v1", "v2")


async def shadow_summary(
    records: Any, hours: float = 24.0, node: str | None = None
) -> dict[str, dict[str, Any]]:
    """``{node: summary}`` of the comparisons of the last ``hours`` (see the module doc)."""
    store: RecordStore = getattr(records, "store", records)
    since = datetime.now(UTC) - timedelta(hours=hours)
    return summarize(await comparison_rows(store, since, node=node))


def summarize(rows: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Group ``rows`` (comparison rows as plain values) by node and summarize each group."""
    by_node: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for row in rows:
        by_node[str(row["node"])].append(row)
    return {node: _node_summary(group) for node, group in sorted(by_node.items())}


def _node_summary(rows: list[Mapping[str, Any]]) -> dict[str, Any]:
    scores = [float(r["similarity"]) for r in rows if r.get("similarity") is not None]
    out: dict[str, Any] = {
        "comparisons": len(rows),
        "similarity_mean": _mean(scores),
    }
    for arm in ARMS:
        out[arm] = _arm_summary(rows, arm)
    return out


def _arm_summary(rows: list[Mapping[str, Any]], arm: str) -> dict[str, Any]:
    answered = [r for r in rows if r[f"{arm}_ok"]]
    latencies = sorted(
        float(r[f"{arm}_latency_ms"]) for r in answered if r.get(f"{arm}_latency_ms") is not None
    )
    costs = [float(r[f"{arm}_cost_usd"]) for r in rows if r.get(f"{arm}_cost_usd") is not None]
    chars = [
        int(r[f"{arm}_output_chars"]) for r in answered if r.get(f"{arm}_output_chars") is not None
    ]
    return {
        "latency_p50_ms": percentile(latencies, 50),
        "latency_p95_ms": percentile(latencies, 95),
        "cost_per_request_usd": _mean(costs),
        "error_rate": round(1 - len(answered) / len(rows), 6) if rows else None,
        "output_chars_mean": _mean([float(c) for c in chars]),
    }


def percentile(ordered: list[float], pct: float) -> float | None:
    """The nearest-rank ``pct``-th percentile of an ascending list (None when empty)."""
    if not ordered:
        return None
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return round(ordered[rank - 1], 3)


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 9) if values else None
