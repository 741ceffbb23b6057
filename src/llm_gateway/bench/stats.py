"""Latency statistics for one benchmark cell: percentiles and the summary the reports print.

Pure functions over plain numbers. Percentiles use linear interpolation between the two closest
ranks (the same definition as ``numpy.percentile``'s default), so a p99 of 200 samples is an
interpolated value, not the maximum.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

PERCENTILES = (50.0, 90.0, 99.0)


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100) of values already sorted ascending.

    Raises ValueError on an empty sequence or a ``q`` outside 0..100.
    """
    if not sorted_values:
        raise ValueError("percentile of an empty sequence")
    if not 0.0 <= q <= 100.0:
        raise ValueError(f"percentile {q} outside 0..100")
    rank = (len(sorted_values) - 1) * q / 100.0
    low = math.floor(rank)
    high = math.ceil(rank)
    if low == high:
        return float(sorted_values[low])
    weight = rank - low
    return float(sorted_values[low] * (1.0 - weight) + sorted_values[high] * weight)


@dataclass(frozen=True, slots=True)
class Distribution:
    """p50/p90/p99, mean and max of a sample, in milliseconds; ``count`` samples."""

    count: int
    p50: float
    p90: float
    p99: float
    mean: float
    max: float

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


def distribution_ms(seconds: Sequence[float]) -> Distribution | None:
    """Summarise durations given in seconds as milliseconds; None for an empty sample."""
    if not seconds:
        return None
    ordered = sorted(seconds)
    p50, p90, p99 = (percentile(ordered, q) * 1000.0 for q in PERCENTILES)
    return Distribution(
        count=len(ordered),
        p50=p50,
        p90=p90,
        p99=p99,
        mean=sum(ordered) / len(ordered) * 1000.0,
        max=ordered[-1] * 1000.0,
    )


def added(target: Distribution | None, baseline: Distribution | None) -> dict[str, float] | None:
    """What a proxy adds over the direct run, percentile by percentile (ms).

    The difference of percentiles, not the percentile of differences: the two runs are separate
    samples of the same cell, so requests cannot be paired.
    """
    if target is None or baseline is None:
        return None
    return {
        "p50": target.p50 - baseline.p50,
        "p90": target.p90 - baseline.p90,
        "p99": target.p99 - baseline.p99,
    }


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """numerator / denominator, or None when either is missing or the denominator is 0."""
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator / denominator


def growth_percent(before: float, after: float) -> float | None:
    """Relative growth from ``before`` to ``after`` in percent; None when ``before`` is 0."""
    if before == 0:
        return None
    return (after - before) / before * 100.0
