"""Two ``llm-gateway serve`` replicas sharing a Redis of the test's own and a PostgreSQL
database of its own, in front of the simulator: a budget of N requests' worth holds under 200
concurrent requests spread over both (overshoot at most one estimate; refused requests never
reach the upstream), and a Redis that loses its data (FLUSHDB) does not reset the spend: it is
rebuilt from the ledger."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
import redis
from tests.budgets.served import LONG_ANSWERS, MESSAGES, budget_row, config_with_budgets
from tests.http.conftest import ADMIN_TOKEN, AUTH
from tests.http.test_serve_cli import SERVE, environment, free_port
from tests.state.own_redis import OwnRedis

from llm_gateway.simulator.testing import SimulatorHandle
from llm_gateway.storage import queries
from llm_gateway.storage.store import RecordStore

N = 20  # the cap: N requests' worth (answers cost less than their estimate: more get in)
CONCURRENT = 200
BODY = {"model": "gpt-4o-mini", "messages": MESSAGES, "max_tokens": 50}


def _start(home: Path, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    home.mkdir(parents=True, exist_ok=True)
    with open(home / "stderr.log", "wb") as log:  # the child keeps its own descriptor
        return subprocess.Popen(
            [*SERVE, "--port", str(port)],
            cwd=home,
            env=environment(home, GATEWAY_LEDGER_SPOOL_DIR=str(home / "spool"), **env),
            stdout=subprocess.DEVNULL,
            stderr=log,
            start_new_session=True,
        )


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def _wait_replicas(url: str, count: int) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            listed = httpx.get(f"{url}/api/admin/gateway/replicas", headers=AUTH, timeout=2)
            if listed.status_code == 200 and listed.json()["count"] == count:
                return
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "the replicas did not come up"
        time.sleep(0.2)


@pytest.fixture
def two_replicas(
    tmp_path: Path, simulator: SimulatorHandle, pg_url: str
) -> Iterator[tuple[list[str], OwnRedis]]:
    simulator.set_scenario(LONG_ANSWERS)
    own = OwnRedis(tmp_path / "redis").start()
    config = config_with_budgets(tmp_path / "config", 'gateway: {day: "0.0000001"}\n')
    env = {
        "GATEWAY_SIMULATE": "false",
        "OPENROUTER_API_KEY": "sk-or-budget-replicas-0000",
        "OPENROUTER_BASE_URL": simulator.base_url,
        "GATEWAY_CONFIG_DIR": str(config),
        "GATEWAY_ADMIN_TOKEN": ADMIN_TOKEN,
        "DATABASE_URL": pg_url,
        "GATEWAY_DB_AUTO_MIGRATE": "true",
        "REDIS_URL": own.url,
        "GATEWAY_HEARTBEAT_S": "0.2",
        "GATEWAY_MAX_RETRIES": "0",
        "GATEWAY_LEDGER_FLUSH_MS": "50",
    }
    ports = [free_port(), free_port()]
    processes = []
    try:
        for name, port in zip("ab", ports, strict=True):
            processes.append(_start(tmp_path / name, port, env))
        urls = [f"http://127.0.0.1:{port}" for port in ports]
        _wait_replicas(urls[0], 2)
        yield urls, own
    finally:
        for process in processes:
            _stop(process)
        own.kill()


async def _burst(urls: list[str]) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=CONCURRENT, max_keepalive_connections=CONCURRENT)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        return await asyncio.gather(
            *(
                client.post(f"{urls[i % 2]}/v1/chat/completions", json=BODY)
                for i in range(CONCURRENT)
            )
        )


async def _ledger_spend(url: str) -> tuple[Decimal, int]:
    store = RecordStore.open(url)
    try:
        since = datetime.now(UTC) - timedelta(days=2)
        total = await queries.spend_since(store, since)
        count = await queries.ledger_count(
            store, start=since, end=datetime.now(UTC) + timedelta(days=1), node=None, model=None
        )
        return total, count
    finally:
        await store.aclose()


def test_a_budget_holds_across_replicas_and_survives_a_redis_flush(
    two_replicas: tuple[list[str], OwnRedis], simulator: SimulatorHandle, pg_url: str
) -> None:
    urls, own = two_replicas
    probe = httpx.post(f"{urls[0]}/v1/chat/completions", json=BODY, timeout=30)
    assert probe.status_code == 429, probe.text
    estimate = Decimal(probe.json()["error"]["budget"]["estimate"])
    cap = estimate * N
    put = httpx.put(
        f"{urls[1]}/api/admin/gateway/budgets/gateway", json={"day": f"{cap:f}"}, headers=AUTH
    )
    assert put.status_code == 200 and put.json()["applied_by"] == 2, put.text

    answers = asyncio.run(_burst(urls))
    ok = [a for a in answers if a.status_code == 200]
    refused = [a for a in answers if a.status_code != 200]
    assert {a.status_code for a in refused} == {429}
    assert {a.json()["error"]["code"] for a in refused} == {"budget_exceeded"}
    assert refused, "the cap was reached"
    assert len(simulator.attempts()) == len(ok)  # a refused request never went upstream
    served_by = {a.url.port for a in ok}
    assert len(served_by) == 2, "both replicas admitted requests"

    listing = httpx.get(f"{urls[0]}/api/admin/gateway/budgets", headers=AUTH).json()
    row = budget_row(listing, "gateway", "day")
    spent = Decimal(row["spent"])
    total, rows = asyncio.run(_ledger_spend(pg_url))
    assert rows == CONCURRENT + 1  # every request has its ledger row, refused ones included
    print(
        f"\nbudget over 2 replicas, {CONCURRENT} concurrent: cap {cap} USD ({N} estimates of "
        f"{estimate}), {len(ok)} admitted, {len(refused)} refused, spent {total} "
        f"(overshoot {max(Decimal(0), total - cap)})"
    )
    assert spent - cap <= estimate  # the overshoot is at most one estimate
    assert total - cap <= estimate
    assert total > cap / 2  # and the budget was used, not refused early
    assert abs(spent - total) <= Decimal("1e-9") * rows  # nano-USD rounding per charge

    direct = redis.Redis(host="127.0.0.1", port=own.port)
    try:
        direct.flushdb()  # the own server's db: Redis loses every counter
    finally:
        direct.close()
    listing = httpx.get(f"{urls[1]}/api/admin/gateway/budgets", headers=AUTH).json()
    rebuilt = Decimal(budget_row(listing, "gateway", "day")["spent"])
    assert abs(rebuilt - total) <= Decimal("1e-9"), (rebuilt, total)
    after = httpx.post(f"{urls[0]}/v1/chat/completions", json=BODY, timeout=30)
    if total + estimate > cap:
        assert after.status_code == 429, after.text  # still spent: not reset by the flush
