"""Shadow traffic's Prometheus families, collected at scrape time from a :class:`ShadowRunner`:

- ``llm_gateway_shadow_runs_total{node, v2_status}`` shadows run (``ok``: v2 answered, ``error``)
- ``llm_gateway_shadow_dropped_total{reason}`` shadows not run (``concurrency``, ``budget``)
- ``llm_gateway_shadow_in_flight`` shadows running now
- ``llm_gateway_shadow_spend_usd_total`` what the shadow (v2) calls cost
- ``llm_gateway_shadow_similarity{node}`` (a summary: ``_sum`` / ``_count``): the mean
  similarity of v2's outputs to v1's over a window is ``rate(_sum) / rate(_count)``

Nodes are those of the legacy purpose table (bounded).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
    SummaryMetricFamily,
)

from llm_gateway.rollout.shadow import DROP_REASONS

if TYPE_CHECKING:
    from llm_gateway.rollout.shadow import ShadowRunner

_NS = "llm_gateway_shadow"


def shadow_families(runner: ShadowRunner) -> Iterator[Metric]:
    runs = CounterMetricFamily(f"{_NS}_runs", "Shadow v2 runs", labels=["node", "v2_status"])
    for (node, status), count in sorted(runner.runs.items()):
        runs.add_metric([node, status], count)
    yield runs
    dropped = CounterMetricFamily(
        f"{_NS}_dropped", "Shadow runs not made (bound reached)", labels=["reason"]
    )
    for reason in DROP_REASONS:
        dropped.add_metric([reason], runner.dropped.get(reason, 0))
    yield dropped
    yield GaugeMetricFamily(f"{_NS}_in_flight", "Shadow runs in flight", value=runner.in_flight)
    yield CounterMetricFamily(
        f"{_NS}_spend_usd", "What shadow v2 calls cost (USD)", value=float(runner.spent_total)
    )
    scores = SummaryMetricFamily(
        f"{_NS}_similarity", "Similarity of v2's output to v1's, per shadow pair", labels=["node"]
    )
    for node, value in sorted(runner.similarity_sum.items()):
        scores.add_metric([node], count_value=runner.similarity_count[node], sum_value=value)
    yield scores
