"""Percentile and summary math, checked against values worked out by hand."""

from __future__ import annotations

import pytest

from llm_gateway.bench.stats import (
    Distribution,
    added,
    distribution_ms,
    growth_percent,
    percentile,
    ratio,
)


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([1.0, 2.0, 3.0, 4.0], 50, 2.5),
        ([1.0, 2.0, 3.0, 4.0], 90, 3.7),
        ([1.0, 2.0, 3.0, 4.0], 0, 1.0),
        ([1.0, 2.0, 3.0, 4.0], 100, 4.0),
        ([5.0], 99, 5.0),
        ([float(i) for i in range(1, 101)], 99, 99.01),
        ([0.0, 10.0], 25, 2.5),
    ],
)
def test_percentile_interpolates_between_ranks(values: list[float], q: float, expected: float):
    assert percentile(values, q) == pytest.approx(expected)


def test_percentile_refuses_empty_and_out_of_range():
    with pytest.raises(ValueError, match="empty"):
        percentile([], 50)
    with pytest.raises(ValueError, match="outside"):
        percentile([1.0], 101)


def test_distribution_is_in_milliseconds_and_order_free():
    summary = distribution_ms([0.004, 0.001, 0.003, 0.002])
    assert summary is not None
    assert summary.count == 4
    got = (summary.p50, summary.p90, summary.p99, summary.mean, summary.max)
    assert got == pytest.approx((2.5, 3.7, 3.97, 2.5, 4.0))


def test_distribution_of_nothing_is_none():
    assert distribution_ms([]) is None


def test_added_is_the_difference_of_percentiles():
    proxy = Distribution(count=3, p50=3.0, p90=5.0, p99=9.0, mean=4.0, max=10.0)
    direct = Distribution(count=3, p50=1.0, p90=1.5, p99=2.0, mean=1.2, max=3.0)
    assert added(proxy, direct) == {"p50": 2.0, "p90": 3.5, "p99": 7.0}
    assert added(None, direct) is None
    assert added(proxy, None) is None


def test_ratio_and_growth_handle_missing_and_zero():
    assert ratio(3000.0, 100.0) == 30.0
    assert ratio(None, 1.0) is None
    assert ratio(1.0, 0.0) is None
    assert growth_percent(100.0, 104.0) == pytest.approx(4.0)
    assert growth_percent(0.0, 5.0) is None
