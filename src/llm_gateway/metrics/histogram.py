"""A histogram as plain numbers: bucket counts and a sum, cumulated only when scraped."""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from typing import Any

# The gateway's own time, seconds.
OVERHEAD_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1)
# The OpenTelemetry GenAI semantic conventions' advised boundaries (request durations, time to
# first token, tokens per request), used by the llm_gateway_* families of the same data too.
GENAI_TOKEN_BUCKETS = tuple(4**n for n in range(14))  # 1, 4, 16, ... 67108864
GENAI_DURATION_BUCKETS = tuple(0.01 * 2**n for n in range(14))  # 0.01 ... 81.92 s
GENAI_TTFT_BUCKETS = (
    0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
)  # fmt: skip


class Histogram:
    """Bucket counts (non-cumulative) and a sum. ``observe`` is a bisect and two adds."""

    __slots__ = ("bounds", "counts", "total")

    def __init__(self, bounds: Sequence[float]) -> None:
        self.bounds = tuple(bounds)
        self.counts = [0] * (len(self.bounds) + 1)
        self.total = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.bounds, value)] += 1
        self.total += value

    def add(self, other: Histogram) -> None:
        """Fold ``other`` (same bounds) into this one: merging label sets at scrape time."""
        self.counts = [a + b for a, b in zip(self.counts, other.counts, strict=True)]
        self.total += other.total

    def buckets(self) -> list[tuple[str, float]]:
        out: list[tuple[str, float]] = []
        running = 0
        for bound, count in zip((*self.bounds, float("inf")), self.counts, strict=True):
            running += count
            out.append(("+Inf" if bound == float("inf") else repr(bound), running))
        return out


class Histograms(dict[Any, Histogram]):
    """Histograms by label tuple, made on first use: ``h[key].observe(x)``."""

    def __init__(self, bounds: Sequence[float]) -> None:
        super().__init__()
        self.bounds = tuple(bounds)

    def __missing__(self, key: Any) -> Histogram:
        histogram = self[key] = Histogram(self.bounds)
        return histogram
