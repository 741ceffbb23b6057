"""``GET /spend``'s shape: the window cut into a bounded number of aligned buckets, and the
database's (bucket, key) cells laid out as one dense series per node or model, the biggest
spenders first and the rest added up as one ``other`` series. Pure: plain values in and out.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from llm_gateway.storage.spend_queries import SpendCell

MAX_BUCKETS = 500
AUTO_BUCKETS = 100  # the bucket chosen when none is asked for gives at most this many
NICE_BUCKETS_S = (60, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 604800)


class TooManyBuckets(ValueError):
    """The window would be cut into more than :data:`MAX_BUCKETS` buckets."""


@dataclass(frozen=True, slots=True)
class SpendWindow:
    """Buckets of ``bucket_s`` seconds from ``start`` (epoch seconds, a multiple of
    ``bucket_s``) to ``end`` (now: the last bucket is the one in progress)."""

    start: int
    end: float
    bucket_s: int
    count: int

    def starts(self) -> list[int]:
        return [self.start + i * self.bucket_s for i in range(self.count)]


def spend_window(now: float, hours: float, bucket_s: int | None = None) -> SpendWindow:
    """The last ``hours`` up to ``now``, widened back to a bucket boundary. Without
    ``bucket_s``, the smallest of :data:`NICE_BUCKETS_S` giving at most :data:`AUTO_BUCKETS`
    buckets. Raises TooManyBuckets past :data:`MAX_BUCKETS`."""
    span = hours * 3600
    if bucket_s is None:
        bucket_s = next(
            (b for b in NICE_BUCKETS_S if _count(now, span, b) <= AUTO_BUCKETS),
            NICE_BUCKETS_S[-1],
        )
    count = _count(now, span, bucket_s)
    if count > MAX_BUCKETS:
        smallest = math.ceil(span / (MAX_BUCKETS - 2))  # the count is at most span / b + 2
        raise TooManyBuckets(
            f"{hours:g} h in buckets of {bucket_s} s is {count} buckets, more than "
            f"{MAX_BUCKETS}: use bucket_s of at least {smallest}"
        )
    start = math.floor((now - span) / bucket_s) * bucket_s
    return SpendWindow(start=start, end=now, bucket_s=bucket_s, count=count)


def _count(now: float, span: float, bucket_s: int) -> int:
    return math.floor(now / bucket_s) - math.floor((now - span) / bucket_s) + 1


def spend_series(cells: Iterable[SpendCell], window: SpendWindow, limit: int) -> dict[str, Any]:
    """Totals and one series per key, each with a cost (exact decimal string) and a request
    count per bucket of ``window``. Keys ordered by spend, then requests, then name; past
    ``limit`` keys the rest are one series with ``"other": true`` and key None."""
    per_key: dict[str | None, tuple[list[Decimal], list[int]]] = {}
    for cell in cells:
        index = (cell.bucket_start - window.start) // window.bucket_s
        if not 0 <= index < window.count:
            continue
        costs, counts = per_key.setdefault(
            cell.key, ([Decimal(0)] * window.count, [0] * window.count)
        )
        costs[index] += cell.cost
        counts[index] += cell.requests
    ranked = sorted(
        per_key.items(), key=lambda item: (-sum(item[1][0]), -sum(item[1][1]), item[0] or "")
    )
    series = [_series(key, costs, counts, other=False) for key, (costs, counts) in ranked[:limit]]
    if len(ranked) > limit:
        costs = [sum((c[0][i] for _, c in ranked[limit:]), Decimal(0)) for i in range(window.count)]
        counts = [sum(c[1][i] for _, c in ranked[limit:]) for i in range(window.count)]
        series.append(_series(None, costs, counts, other=True, keys=len(ranked) - limit))
    total = sum((sum(costs, Decimal(0)) for costs, _ in per_key.values()), Decimal(0))
    return {
        "from": _iso(window.start),
        "to": _iso(window.end),
        "bucket_s": window.bucket_s,
        "buckets": [_iso(start) for start in window.starts()],
        "total_cost_usd": _usd(total),
        "requests": sum(sum(counts) for _, counts in per_key.values()),
        "series": series,
    }


def _series(
    key: str | None, costs: list[Decimal], counts: list[int], *, other: bool, keys: int = 1
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "key": key,
        "other": other,
        "total_cost_usd": _usd(sum(costs, Decimal(0))),
        "total_requests": sum(counts),
        "cost_usd": [_usd(cost) for cost in costs],
        "requests": counts,
    }
    if other:
        out["keys"] = keys
    return out


def _usd(value: Decimal) -> str:
    return f"{value.normalize():f}" if value else "0"


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")
