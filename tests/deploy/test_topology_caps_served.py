"""Caps across the compose topology (three ``llm-gateway serve`` replicas sharing the real Redis
and a PostgreSQL database of the test's own, nginx in front, tests/deploy/topology.py): a budget
of N requests' worth holds under 200 concurrent requests sent through nginx (overshoot at most one
estimate, refused requests never go upstream, every request has its ledger row), and a rate limit
of R per minute holds across the three (GCRA refills continuously: R plus what refilled while the
test ran)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
import yaml
from tests.budgets.served import LONG_ANSWERS, MESSAGES, budget_row
from tests.deploy.nginx_runner import nginx_binary
from tests.deploy.topology import AUTH, Topology, run_topology
from tests.shared_services import own_resources

from llm_gateway.simulator.testing import run_simulator
from llm_gateway.storage import queries
from llm_gateway.storage.store import RecordStore

N = 20  # the budget: N requests' worth
CONCURRENT = 200
RPM = 60
# The budget is on a model the rate-limited node's chain never reaches (formatter: LOW tier).
BUDGET_BODY = {"model": "claude-sonnet", "messages": MESSAGES, "max_tokens": 50}
LIMITED_BODY = {"model": "formatter", "messages": MESSAGES}


def _prepare(config_dir: Path) -> None:
    # A cap too small for any request: the first answer says what one request's estimate is.
    (config_dir / "budgets.yaml").write_text('models:\n  claude-sonnet: {day: "0.0000001"}\n')
    limits = {"limits": {"nodes": {"formatter": {"rpm": RPM}}}}
    (config_dir / "limits.yaml").write_text(yaml.safe_dump(limits))


@pytest.fixture(scope="module")
def caps(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Topology, str]]:
    if nginx_binary() is None:
        pytest.skip("nginx is not installed: `apt-get install nginx-light` (.ci/run does)")
    root: Path = tmp_path_factory.mktemp("topology-caps")
    env = {"GATEWAY_MAX_RETRIES": "0", "GATEWAY_RATE_LIMIT_WAIT_MS": "0"}
    with (
        run_simulator(LONG_ANSWERS) as simulator,
        own_resources() as (pg_url, redis_prefix),
        run_topology(
            root,
            simulator=simulator,
            pg_url=pg_url,
            redis_prefix=redis_prefix,
            env=env,
            prepare_config=_prepare,
        ) as topology,
    ):
        yield topology, pg_url


async def _through_nginx(url: str, body: dict[str, object], count: int) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=count, max_keepalive_connections=count)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        return await asyncio.gather(
            *(client.post(f"{url}/v1/chat/completions", json=body) for _ in range(count))
        )


async def _ledger(pg_url: str) -> tuple[Decimal, int]:
    """The spend and the number of rows of the whole ledger (every request of this module's
    topology)."""
    store = RecordStore.open(pg_url)
    try:
        start = datetime.now(UTC) - timedelta(days=1)
        end = datetime.now(UTC) + timedelta(days=1)
        rows = await queries.ledger_count(store, start=start, end=end, node=None, model=None)
        total = await queries.spend_since(store, start)
        return total, rows
    finally:
        await store.aclose()


def _ledger_with(pg_url: str, rows: int) -> Decimal:
    """The ledger's spend once it holds ``rows`` rows (the writers flush in the background)."""
    deadline = time.monotonic() + 20
    while True:
        total, count = asyncio.run(_ledger(pg_url))
        if count >= rows or time.monotonic() > deadline:
            assert count == rows, f"{count} ledger rows, {rows} requests"
            return total
        time.sleep(0.1)


def test_a_budget_holds_under_200_concurrent_requests_spread_by_nginx(
    caps: tuple[Topology, str],
) -> None:
    topology, pg_url = caps
    a, b, c = topology.replicas
    probe = httpx.post(f"{topology.url}/v1/chat/completions", json=BUDGET_BODY, timeout=30)
    assert probe.status_code == 429, probe.text
    estimate = Decimal(probe.json()["error"]["budget"]["estimate"])
    cap = estimate * N
    put = httpx.put(
        f"{a.url}/api/admin/gateway/budgets/model:claude-sonnet",
        json={"day": f"{cap:f}"},
        headers=AUTH,
        timeout=10,
    )
    assert put.status_code == 200, put.text
    assert put.json()["applied_by"] == 3 and put.json()["replicas"] == 3, put.json()
    attempts_before = len(topology.simulator.attempts())
    logged_before = len(topology.nginx.access_entries())

    answers = asyncio.run(_through_nginx(topology.url, BUDGET_BODY, CONCURRENT))
    ok = [r for r in answers if r.status_code == 200]
    refused = [r for r in answers if r.status_code != 200]
    assert refused and {r.status_code for r in refused} == {429}, {r.status_code for r in refused}
    assert {r.json()["error"]["code"] for r in refused} == {"budget_exceeded"}
    assert len(topology.simulator.attempts()) - attempts_before == len(ok)  # none went upstream
    logged = topology.nginx.access_entries()[logged_before:]
    answered_by = {e["upstream"] for e in logged if e["status"] == "200"}

    rows = CONCURRENT + 1  # every request has its ledger row, the refused ones included
    total = _ledger_with(pg_url, rows)
    listing = httpx.get(f"{b.url}/api/admin/gateway/budgets", headers=AUTH, timeout=10).json()
    spent = Decimal(budget_row(listing, "model:claude-sonnet", "day")["spent"])
    print(
        f"\nbudget over 3 replicas behind nginx, {CONCURRENT} concurrent: cap {cap} USD "
        f"({N} estimates of {estimate}), {len(ok)} admitted, {len(refused)} refused, "
        f"ledger {total} (overshoot {max(Decimal(0), total - cap)}), answered by {answered_by}"
    )
    assert len(answered_by) >= 2, answered_by  # nginx spread the admitted ones
    assert total - cap <= estimate  # overshoot at most one estimate
    assert spent - cap <= estimate
    # The budget was used, not refused early: in-flight reservations hold at most the cap, so
    # at least N requests got in, less what another replica's lease could hold unused.
    assert len(ok) >= N - 2, len(ok)
    assert abs(spent - total) <= Decimal("1e-9") * rows
    again = httpx.post(f"{c.url}/v1/chat/completions", json=BUDGET_BODY, timeout=30)
    if total + estimate > cap:
        assert again.status_code == 429 and again.json()["error"]["code"] == "budget_exceeded"


def test_a_rate_limit_holds_across_the_three_replicas(caps: tuple[Topology, str]) -> None:
    topology, _ = caps
    requests = 2 * RPM

    def send(_: int) -> int:
        with httpx.Client(timeout=30) as client:  # a new connection each time: nginx picks anew
            return client.post(f"{topology.url}/v1/chat/completions", json=LIMITED_BODY).status_code

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(send, range(requests)))
    elapsed = time.monotonic() - started
    admitted = statuses.count(200)
    refused = statuses.count(429)
    refilled = int(elapsed * RPM / 60)
    print(
        f"\nrate limit over 3 replicas behind nginx: admitted {admitted} of {requests} in "
        f"{elapsed:.2f} s (limit {RPM}/min, refilled {refilled})"
    )
    assert admitted + refused == requests, statuses
    assert admitted <= RPM + refilled  # never past the limit, across the three
    # what leases left unused at the end (a slice per replica) is the only slack
    assert admitted >= RPM - 3 * max(1, RPM // 20)
