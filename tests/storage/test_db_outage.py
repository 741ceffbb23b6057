"""PostgreSQL unavailable for a while under load, then back: every request is served meanwhile,
its ledger row waits in the local spool, and after catch-up each request has exactly one row,
whose cost is what its caller was told; the outage is logged once, loudly.

The PostgreSQL is the test's own (``own_postgres``), stopped as a crash would stop it."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from tests.http.conftest import AUTH, make_settings
from tests.http.serving import serve
from tests.storage.own_postgres import OwnPostgres, own_postgres

from llm_gateway.app import create_app
from llm_gateway.storage.writer import RecordWriter

BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 8}
WORKERS = 4
MAX_REQUESTS = 4000  # a bound on the load, whatever the machine's speed
WARM_S = 2.0
OUTAGE_S = 12.0
AFTER_S = 2.0


class Load:
    """Steady traffic from a few workers until ``stop`` is set; every outcome kept."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.stop = asyncio.Event()
        self.told: dict[str, Decimal] = {}
        self.failures: list[str] = []
        self.completed_at: list[float] = []

    async def run(self) -> None:
        async with httpx.AsyncClient(base_url=self.base_url, timeout=15) as client:
            await asyncio.gather(*(self._worker(client) for _ in range(WORKERS)))

    async def _worker(self, client: httpx.AsyncClient) -> None:
        while not self.stop.is_set() and len(self.completed_at) < MAX_REQUESTS:
            trace_id = uuid.uuid4().hex
            try:
                response = await client.post(
                    "/v1/chat/completions", json=BODY, headers={"X-Trace-Id": trace_id}
                )
            except httpx.HTTPError as exc:
                self.failures.append(f"{trace_id}: {type(exc).__name__}")
                continue
            self.completed_at.append(time.monotonic())
            if response.status_code != 200:
                self.failures.append(f"{trace_id}: {response.status_code} {response.text[:200]}")
                continue
            self.told[trace_id] = Decimal(response.headers["x-gateway-cost-usd"])
            await asyncio.sleep(0.01)


def _ledger(base_url: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 1000}
        if cursor:
            params["cursor"] = cursor
        response = httpx.get(
            f"{base_url}/api/admin/gateway/ledger", params=params, headers=AUTH, timeout=30
        )
        assert response.status_code == 200, response.text
        page = response.json()
        rows.extend(page["rows"])
        cursor = page["next_cursor"]
        if not cursor:
            return rows


async def _rows_in_database(server: OwnPostgres) -> dict[str, int]:
    """Rows per trace id, read from PostgreSQL itself (not through the gateway)."""
    connection = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{server.port}/postgres")
    try:
        found = await connection.fetch("SELECT trace_id, count(*) AS n FROM ledger GROUP BY 1")
    finally:
        await connection.close()
    return {row["trace_id"]: row["n"] for row in found}


async def _wait_for(predicate: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


@pytest.mark.timeout(90)
async def test_postgresql_down_under_load_loses_nothing_and_doubles_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="llm_gateway")
    with own_postgres(tmp_path) as server:
        settings = make_settings(
            tmp_path,
            DATABASE_URL=server.url,
            GATEWAY_DB_AUTO_MIGRATE=True,
            GATEWAY_LEDGER_SPOOL_DIR=tmp_path / "spool",
            GATEWAY_LEDGER_FLUSH_MS=100,
        )
        app = create_app(settings)
        with serve(app) as (base_url, _):
            writer: RecordWriter = app.state.llm_gateway.records.writer
            load = Load(base_url)
            traffic = asyncio.create_task(load.run())
            await asyncio.sleep(WARM_S)
            before_outage = len(load.completed_at)
            await asyncio.to_thread(server.stop_immediately)
            stopped_at = time.monotonic()
            await _wait_for(lambda: writer.in_outage, 10, "the writer to see the outage")
            await asyncio.sleep(max(0.0, OUTAGE_S - (time.monotonic() - stopped_at)))
            spooled_in_outage = writer.spool_files
            await asyncio.to_thread(server.start)
            restarted_at = time.monotonic()
            await asyncio.sleep(AFTER_S)
            load.stop.set()
            await asyncio.wait_for(traffic, 30)
            await _wait_for(
                lambda: (
                    not writer.in_outage and writer.spool_files == 0 and writer.queue_depth == 0
                ),
                20,
                "the spooled rows to be delivered",
            )
            rows = await asyncio.to_thread(_ledger, base_url)
            stats = writer.stats
        in_database = await _rows_in_database(server)

    served_in_outage = sum(1 for t in load.completed_at if stopped_at < t < restarted_at)
    assert not load.failures, load.failures[:5]
    assert before_outage > 0 and served_in_outage > 0, "no request was served during the outage"
    assert spooled_in_outage > 0, "rows did not wait in the local spool during the outage"

    by_trace: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_trace.setdefault(row["trace_id"], []).append(row)
    doubled = [t for t, found in by_trace.items() if len(found) != 1]
    assert not doubled, f"{len(doubled)} requests counted twice"
    assert set(by_trace) == set(load.told), (
        f"{len(set(load.told) - set(by_trace))} rows lost, "
        f"{len(set(by_trace) - set(load.told))} rows of no request"
    )
    assert in_database == dict.fromkeys(load.told, 1)
    told_total = sum(load.told.values(), Decimal(0))
    ledger_total = sum((Decimal(r["cost_usd"]) for r in rows), Decimal(0))
    assert ledger_total == told_total > 0
    for trace_id, (row,) in by_trace.items():
        assert Decimal(row["cost_usd"]) == load.told[trace_id]

    assert stats.outages == 1
    assert stats.rows_written == len(load.told)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, [r.getMessage() for r in errors]
    assert "unreachable" in errors[0].getMessage()
    assert errors[0].name == "llm_gateway.storage"
