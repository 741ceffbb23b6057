"""``GET /spend``'s windows and series, as plain values: aligned buckets, a bounded count, the
default bucket, dense series ranked by spend with the rest as one ``other``."""

from __future__ import annotations

from decimal import Decimal

import pytest

from llm_gateway.costs.spend_series import (
    MAX_BUCKETS,
    TooManyBuckets,
    spend_series,
    spend_window,
)
from llm_gateway.storage.spend_queries import SpendCell

NOW = 1_764_000_000 + 1234.5  # 2025-11-24T16:20:34.5Z, not on any boundary


def test_the_window_is_widened_back_to_a_bucket_boundary() -> None:
    window = spend_window(NOW, 1, 300)
    assert window.start % 300 == 0 and window.start <= NOW - 3600 < window.start + 300
    assert window.count == 13  # 12 whole buckets' worth, cut at both ends
    starts = window.starts()
    assert starts[0] == window.start and starts[-1] <= NOW < starts[-1] + 300


@pytest.mark.parametrize(
    ("hours", "bucket_s"), [(1, 60), (6, 300), (24, 900), (24 * 7, 7200), (24 * 30, 43200)]
)
def test_without_a_bucket_the_smallest_round_one_under_a_hundred(
    hours: float, bucket_s: int
) -> None:
    window = spend_window(NOW, hours)
    assert window.bucket_s == bucket_s
    assert window.count <= 100


def test_too_many_buckets_is_refused_saying_what_would_do() -> None:
    with pytest.raises(TooManyBuckets, match=r"use bucket_s of at least 174"):
        spend_window(NOW, 24, 60)
    assert spend_window(NOW, 24, 174).count <= MAX_BUCKETS


def test_series_are_dense_ranked_exact_and_the_rest_is_other() -> None:
    window = spend_window(NOW, 1, 900)
    first, last = window.start, window.starts()[-1]
    cells = [
        SpendCell(first, "writer", 2, Decimal("0.1")),
        SpendCell(last, "writer", 1, Decimal("0.000000000000000001")),
        SpendCell(first, "formatter", 5, Decimal("0.5")),
        SpendCell(last, "search_web", 1, Decimal("0.01")),
        SpendCell(last, None, 3, Decimal(0)),
        SpendCell(last + 900, "writer", 1, Decimal(1)),  # outside the window: ignored
    ]
    out = spend_series(cells, window, limit=2)
    assert out["bucket_s"] == 900 and len(out["buckets"]) == window.count == 5
    assert out["total_cost_usd"] == "0.610000000000000001" and out["requests"] == 12
    keys = [(s["key"], s["other"]) for s in out["series"]]
    assert keys == [("formatter", False), ("writer", False), (None, True)]
    writer = out["series"][1]
    assert writer["cost_usd"] == ["0.1", "0", "0", "0", "0.000000000000000001"]
    assert writer["requests"] == [2, 0, 0, 0, 1]
    assert writer["total_cost_usd"] == "0.100000000000000001" and writer["total_requests"] == 3
    other = out["series"][2]
    assert other["keys"] == 2 and other["cost_usd"][-1] == "0.01" and other["requests"][-1] == 4


def test_no_rows_is_no_series_but_every_bucket() -> None:
    out = spend_series([], spend_window(NOW, 2, 3600), limit=10)
    assert out["series"] == [] and out["total_cost_usd"] == "0" and out["requests"] == 0
    assert len(out["buckets"]) == 3
