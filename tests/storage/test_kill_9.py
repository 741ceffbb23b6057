"""``kill -9`` of a real ``llm-gateway serve`` under load, then a restart on the same database and
spool: every request completed more than 1 s before the kill has its ledger row, and no request
has two — on a SQLite file and on PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from tests.http.conftest import ADMIN_TOKEN, AUTH
from tests.storage.conftest import own_pg_database
from tests.storage.own_postgres import free_port

from llm_gateway.simulator.testing import SimulatorHandle

SERVE = [sys.executable, "-c", "from llm_gateway.cli import app; app()", "serve"]
BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 8}
WORKERS = 8
MAX_REQUESTS = 5000
LOAD_BEFORE_KILL_S = 4.0
STALL_S = 2.5  # how long the database stalls before the kill, in the stalled variant
GUARANTEE_S = 1.0  # a request completed this long before the kill has its row
READY_TIMEOUT_S = 30.0


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/ledger.sqlite3"
        return
    async with own_pg_database() as url:
        yield url


class Server:
    """One ``llm-gateway serve`` process; its log goes to a file (never a pipe that fills)."""

    def __init__(self, tmp_path: Path, database_url: str, upstream: str) -> None:
        self.tmp_path = tmp_path
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("GATEWAY_", "OPENROUTER_", "DATABASE_", "REDIS_"))
        }
        env.update(
            GATEWAY_SIMULATE="false",
            OPENROUTER_API_KEY="sk-or-kill-test-0123456789",
            OPENROUTER_BASE_URL=upstream,
            GATEWAY_PORT=str(self.port),
            GATEWAY_HOST="127.0.0.1",
            GATEWAY_ADMIN_TOKEN=ADMIN_TOKEN,
            GATEWAY_AUDIT_LOG_FILE=str(tmp_path / "audit.jsonl"),
            GATEWAY_LOG_LEVEL="INFO",
            GATEWAY_SHUTDOWN_GRACE_S="2",
            DATABASE_URL=database_url,
            GATEWAY_DB_AUTO_MIGRATE="true",
            GATEWAY_LEDGER_SPOOL_DIR=str(tmp_path / "spool"),
        )
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None
        self.runs = 0

    def start(self) -> None:
        self.runs += 1
        self.log = self.tmp_path / f"serve-{self.runs}.log"
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                SERVE, cwd=self.tmp_path, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the server exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"the server did not become ready: {self.log.read_text()[-2000:]}")

    def kill_9(self) -> float:
        assert self.process is not None
        killed_at = time.monotonic()
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        return killed_at

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


class Load:
    """Concurrent requests, each with its own trace id; the completion time of each kept."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.stop = asyncio.Event()
        self.completed: dict[str, float] = {}
        self.sent: set[str] = set()
        self.failures: list[str] = []

    async def run(self) -> None:
        limits = httpx.Limits(max_connections=WORKERS)
        async with httpx.AsyncClient(base_url=self.base_url, timeout=10, limits=limits) as client:
            await asyncio.gather(*(self._worker(client) for _ in range(WORKERS)))

    async def _worker(self, client: httpx.AsyncClient) -> None:
        while not self.stop.is_set() and len(self.sent) < MAX_REQUESTS:
            trace_id = uuid.uuid4().hex
            self.sent.add(trace_id)
            stream = len(self.sent) % 4 == 0  # every fourth request streams
            try:
                ok = await _request(client, trace_id, stream=stream)
            except httpx.TransportError:
                return  # the server is gone
            if ok is True:
                self.completed[trace_id] = time.monotonic()
            else:
                self.failures.append(ok)


async def _request(client: httpx.AsyncClient, trace_id: str, *, stream: bool) -> bool | str:
    """True once the whole answer is read, or what went wrong."""
    headers = {"X-Trace-Id": trace_id}
    if not stream:
        response = await client.post("/v1/chat/completions", json=BODY, headers=headers)
        return True if response.status_code == 200 else f"{response.status_code} {response.text}"
    body = {**BODY, "stream": True}
    async with client.stream("POST", "/v1/chat/completions", json=body, headers=headers) as r:
        lines = [line async for line in r.aiter_lines() if line]
    if r.status_code == 200 and lines and lines[-1] == "data: [DONE]":
        return True
    return f"stream {r.status_code} {lines[-1:]}"


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


@asynccontextmanager
async def stalled(database_url: str) -> AsyncIterator[None]:
    """The ledger table write-locked by another session: the writer's inserts wait."""
    if database_url.startswith("sqlite"):
        connection = sqlite3.connect(database_url.split("///", 1)[1], isolation_level=None)
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            connection.execute("ROLLBACK")
            connection.close()
        return
    pg = await asyncpg.connect(database_url.replace("+asyncpg", ""))
    try:
        async with pg.transaction():
            await pg.execute("LOCK TABLE ledger IN EXCLUSIVE MODE")
            yield
    finally:
        await pg.close()


@pytest.mark.timeout(90)
@pytest.mark.parametrize("stall", [False, True], ids=["db-answering", "db-stalled"])
async def test_kill_9_under_load_loses_no_row_completed_a_second_before(
    tmp_path: Path, database_url: str, simulator: SimulatorHandle, stall: bool
) -> None:
    server = Server(tmp_path, database_url, simulator.base_url)
    try:
        await asyncio.to_thread(server.start)
        load = Load(server.url)
        traffic = asyncio.create_task(load.run())
        if stall:
            await asyncio.sleep(LOAD_BEFORE_KILL_S - STALL_S)
            async with stalled(database_url):
                await asyncio.sleep(STALL_S)
                killed_at = server.kill_9()
        else:
            await asyncio.sleep(LOAD_BEFORE_KILL_S)
            killed_at = server.kill_9()
        load.stop.set()
        await asyncio.wait_for(traffic, 20)
        left_in_spool = sorted(p.name for p in (tmp_path / "spool").glob("*.jsonl"))
        await asyncio.to_thread(server.start)  # same database, same spool: replayed
        rows = await asyncio.to_thread(_ledger, server.url)
    finally:
        server.stop()

    assert not load.failures, load.failures[:5]
    due = {t for t, at in load.completed.items() if at < killed_at - GUARANTEE_S}
    assert len(due) >= 20, f"too little load to prove anything ({len(due)} requests)"
    by_trace: dict[str, int] = {}
    for row in rows:
        by_trace[row["trace_id"]] = by_trace.get(row["trace_id"], 0) + 1
    doubled = sorted(t for t, n in by_trace.items() if n > 1)
    assert not doubled, f"{len(doubled)} requests have two rows"
    lost = due - set(by_trace)
    assert not lost, (
        f"{len(lost)} of {len(due)} requests completed > {GUARANTEE_S} s before the kill "
        f"have no row (spool at the kill: {left_in_spool[:5]})"
    )
    assert set(by_trace) <= load.sent, "a row of no request sent"
    if stall:  # the rows of the stall were on disk only: the replay at start-up delivered them
        assert left_in_spool
    assert not list((tmp_path / "spool").glob("*.jsonl")), "the spool was not replayed"
