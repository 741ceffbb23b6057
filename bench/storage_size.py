"""Bytes per ledger row and per trace in the record store, on SQLite and PostgreSQL, measured.

    .venv/bin/python bench/storage_size.py [--rows 20000] [--capture 300] [--json FILE]
        [--pg-admin postgresql://postgres@127.0.0.1:5432/test] [--no-postgresql]

1. Capture: the gateway (``create_app``, 100 % trace sampling) serves ``--capture`` mixed
   requests — every node family of the shipped config, named models, streams, a model that
   fails 60 % of the time (retries, fallbacks), one that refuses now and then, unknown models
   (refused) — against the simulator (zero latency), on a 127.0.0.1 port; its ledger rows and
   traces, as the gateway wrote them, are read back from its SQLite store.
2. Measure: ``--rows`` rows and as many traces, copied round-robin from the captured ones with
   fresh request ids, trace ids and times (so keys and indexes are as varied as in production),
   are inserted 500 at a time (as the writer does) into a fresh, migrated store of each backend.
   SQLite: growth of the database file (WAL checkpointed). PostgreSQL: growth of
   ``pg_total_relation_size`` (heap, TOAST, indexes; every ledger partition), after VACUUM.
   The ledger and the traces are measured in separate stores so neither's pages hide in the
   other's. Growth per day is bytes per row x requests/s x 86,400 (traces at 100 % sampling).

PostgreSQL is the shared local server; the database is one of its own, dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import sqlite3
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import uvicorn
from sqlalchemy import select

from llm_gateway.app import create_app
from llm_gateway.settings import Settings
from llm_gateway.simulator.testing import run_simulator
from llm_gateway.storage.migrate import upgrade
from llm_gateway.storage.records import LedgerRow, TraceRecord
from llm_gateway.storage.retention import ensure_partitions
from llm_gateway.storage.schema import ledger, traces
from llm_gateway.storage.store import RecordStore

SCENARIO = {
    "seed": 7,
    "models": {
        "*": {"ttft_s": 0.0, "tokens_per_s": 100_000},
        "google/gemini-2.0-flash-exp": {
            "faults": [{"kind": "error", "status": 500, "probability": 0.6}]
        },
        "openai/gpt-4o": {"faults": [{"kind": "content_filter", "probability": 0.2}]},
    },
}
NODES = ("writer", "evaluator", "search_perplexity", "formatter", "citation_master", "default")
PROMPTS = (
    "Write two sentences about ledgers.",
    "Evaluate this paragraph for clarity and give a score from 1 to 10: The quick brown fox.",
    "Summarise the history of double-entry bookkeeping in one paragraph.",
)
BATCH = 500
RATES = (10, 100, 1_000)  # requests per second, for the growth per day


def _request(i: int) -> tuple[dict[str, Any], dict[str, str]]:
    """A mixed workload: mostly node traffic through ``auto``, some named models and streams."""
    body: dict[str, Any] = {
        "model": "auto",
        "messages": [{"role": "user", "content": PROMPTS[i % len(PROMPTS)]}],
    }
    headers = {"X-Gateway-Node": NODES[i % len(NODES)]}
    kind = i % 10
    if kind == 7:
        body["model"] = "gemini-2.5-pro"  # fails 60 %: retried, fallen back
    elif kind == 8:
        body["model"] = "gpt-4o"  # a refusal now and then
    elif kind == 9 and i % 20 == 9:
        body["model"] = "no-such-model"  # refused
    if i % 3 == 0:
        body.update(stream=True, stream_options={"include_usage": True})
    return body, headers


def _serve(app: Any) -> tuple[str, uvicorn.Server, threading.Thread, socket.socket]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(
        uvicorn.Config(app, lifespan="on", access_log=False, log_level="warning")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise SystemExit("the gateway did not start")
        time.sleep(0.02)
    return f"http://127.0.0.1:{sock.getsockname()[1]}", server, thread, sock


async def _send(base_url: str, count: int) -> None:
    limit = asyncio.Semaphore(8)
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:

        async def one(i: int) -> None:
            body, headers = _request(i)
            async with limit:
                if body.get("stream"):
                    async with client.stream(
                        "POST", "/v1/chat/completions", json=body, headers=headers
                    ) as response:
                        async for _ in response.aiter_bytes():
                            pass
                else:
                    await client.post("/v1/chat/completions", json=body, headers=headers)

        await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(count))), 300)


async def _read_back(url: str) -> tuple[list[LedgerRow], list[TraceRecord]]:
    store = RecordStore.open(url)
    try:
        async with store.engine.connect() as connection:
            rows = [LedgerRow(**dict(r._mapping)) for r in await connection.execute(select(ledger))]
            records = [
                TraceRecord(**dict(r._mapping), rendered=True)
                for r in await connection.execute(select(traces))
            ]
    finally:
        await store.aclose()
    return rows, records


def capture(workdir: Path, count: int) -> tuple[list[LedgerRow], list[TraceRecord]]:
    url = f"sqlite+aiosqlite:///{workdir}/capture.sqlite3"
    with run_simulator(SCENARIO) as simulator:
        settings = Settings(
            _env_file=None,
            GATEWAY_SIMULATE=False,
            OPENROUTER_API_KEY="sk-or-storage-size-1234",
            OPENROUTER_BASE_URL=simulator.base_url,
            DATABASE_URL=url,
            GATEWAY_LEDGER_SPOOL_DIR=workdir / "spool",
            GATEWAY_AUDIT_LOG_FILE=workdir / "audit.jsonl",
            GATEWAY_ADMIN_TOKEN="storage-size-admin-token",
            GATEWAY_RETRY_DELAY=0.0,
            GATEWAY_TRACE_SAMPLING_RATE=1.0,
            GATEWAY_LOG_LEVEL="WARNING",
        )
        base_url, server, thread, sock = _serve(create_app(settings))
        try:
            asyncio.run(_send(base_url, count))
        finally:
            server.should_exit = True  # the lifespan flushes the writer
            thread.join(timeout=30)
            sock.close()
    return asyncio.run(_read_back(url))


def copies(
    rows: list[LedgerRow], records: list[TraceRecord], n: int
) -> tuple[list[LedgerRow], list[TraceRecord]]:
    """``n`` of each, round-robin from the captured ones, with fresh ids and times."""
    now = datetime.now(UTC)
    out_rows, out_traces = [], []
    for i in range(n):
        at = now - timedelta(milliseconds=50 * (n - i))
        request_id, trace_id = uuid.uuid4().hex, uuid.uuid4().hex
        out_rows.append(replace(rows[i % len(rows)], id=request_id, at=at, trace_id=trace_id))
        template = records[i % len(records)]
        body = dict(template.body, request_id=request_id, trace_id=trace_id)
        body["timestamp"] = at.timestamp()
        out_traces.append(
            replace(template, request_id=request_id, trace_id=trace_id, at=at, body=body)
        )
    return out_rows, out_traces


async def _insert(url: str, items: list[Any], kind: str) -> None:
    store = RecordStore.open(url)
    try:
        if kind == "ledger":
            await ensure_partitions(store)
        for start in range(0, len(items), BATCH):
            batch = items[start : start + BATCH]
            if kind == "ledger":
                await store.insert_ledger(batch)
            else:
                await store.insert_traces(batch)
    finally:
        await store.aclose()


def _sqlite_bytes(path: Path) -> int:
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path.stat().st_size


def measure_sqlite(workdir: Path, items: list[Any], kind: str) -> int:
    path = workdir / f"measure-{kind}.sqlite3"
    url = f"sqlite+aiosqlite:///{path}"
    upgrade(url)
    before = _sqlite_bytes(path)
    asyncio.run(_insert(url, items, kind))
    return _sqlite_bytes(path) - before


_PG_SIZE = {
    "ledger": "SELECT sum(pg_total_relation_size(relid)) FROM pg_partition_tree('ledger')",
    "traces": "SELECT pg_total_relation_size('traces')",
}


async def _pg_bytes(dsn: str, kind: str) -> int:
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(f"VACUUM ANALYZE {kind}")
        return int(await connection.fetchval(_PG_SIZE[kind]))
    finally:
        await connection.close()


async def _pg_admin(dsn: str, sql: str) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def measure_postgresql(admin_dsn: str, items: list[Any], kind: str) -> int:
    name = f"llmg_size_{uuid.uuid4().hex[:10]}"
    asyncio.run(_pg_admin(admin_dsn, f'CREATE DATABASE "{name}"'))
    dsn = admin_dsn.rsplit("/", 1)[0] + f"/{name}"
    url = dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
    try:
        upgrade(url)
        if kind == "ledger":  # this month's partition exists before the baseline is taken
            asyncio.run(_insert(url, [], kind))
        before = asyncio.run(_pg_bytes(dsn, kind))
        asyncio.run(_insert(url, items, kind))
        return asyncio.run(_pg_bytes(dsn, kind)) - before
    finally:
        asyncio.run(_pg_admin(admin_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--capture", type=int, default=300)
    parser.add_argument("--pg-admin", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--no-postgresql", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="llm-gateway-size-") as tmp:
        workdir = Path(tmp)
        captured_rows, captured_traces = capture(workdir, args.capture)
        if not captured_rows or not captured_traces:
            raise SystemExit("nothing was captured")
        rows, records = copies(captured_rows, captured_traces, args.rows)
        body_bytes = [len(json.dumps(r.body, separators=(",", ":"))) for r in captured_traces]
        statuses: dict[str, int] = {}
        for row in captured_rows:
            statuses[row.status] = statuses.get(row.status, 0) + 1
        result: dict[str, Any] = {
            "rows": args.rows,
            "captured": {
                "ledger_rows": len(captured_rows),
                "traces": len(captured_traces),
                "statuses": statuses,
                "fallbacks": sum(r.fallback_used for r in captured_rows),
                "streams": sum(r.stream for r in captured_rows),
                "trace_json_bytes_mean": round(sum(body_bytes) / len(body_bytes)),
                "trace_json_bytes_max": max(body_bytes),
            },
            "bytes_per_row": {},
        }
        backends = ["sqlite"] + ([] if args.no_postgresql else ["postgresql"])
        for backend in backends:
            for kind, items in (("ledger", rows), ("traces", records)):
                if backend == "sqlite":
                    grown = measure_sqlite(workdir, items, kind)
                else:
                    grown = measure_postgresql(args.pg_admin, items, kind)
                result["bytes_per_row"][f"{backend}.{kind}"] = round(grown / len(items), 1)
    result["growth_per_day_gb"] = {
        f"{name}@{rate}rps": round(per_row * rate * 86_400 / 1e9, 2)
        for name, per_row in result["bytes_per_row"].items()
        for rate in RATES
    }
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
