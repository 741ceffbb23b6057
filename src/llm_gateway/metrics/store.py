"""Families of the ledger's path to the record store: queue, spool, outages, shed traces."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

_NS = "llm_gateway"


def record_store_families(writer: Any) -> Iterator[Metric]:
    """Gauges and counters read from the record store's ``RecordWriter`` at scrape time."""
    stats = writer.stats
    gauges = (
        (
            "ledger_queue_depth",
            "Ledger rows in memory only (neither committed nor spooled)",
            writer.queue_depth,
        ),
        (
            "ledger_spool_files",
            "Ledger batches spooled locally, not yet in the store",
            writer.spool_files,
        ),
        ("ledger_spool_bytes", "Bytes of ledger batches spooled locally", writer.spool_bytes),
        (
            "record_store_up",
            "1 when the record store takes writes, 0 during an outage",
            0 if writer.in_outage else 1,
        ),
    )
    for name, text, value in gauges:
        gauge = GaugeMetricFamily(f"{_NS}_{name}", text)
        gauge.add_metric([], value)
        yield gauge
    counters = (
        ("ledger_rows_written", "Ledger rows written to the record store", stats.rows_written),
        (
            "ledger_backpressure",
            "Times the request path waited for room in the ledger queue",
            stats.backpressure_waits,
        ),
        ("traces_written", "Sampled traces written to the record store", stats.traces_written),
        (
            "traces_dropped",
            "Sampled traces shed under pressure (never ledger rows)",
            stats.traces_shed,
        ),
        ("record_store_outages", "Outages of the record store seen by this process", stats.outages),
    )
    for name, text, value in counters:
        counter = CounterMetricFamily(f"{_NS}_{name}", text)
        counter.add_metric([], value)
        yield counter
