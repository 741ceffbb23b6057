"""Legacy code in a worker process: the in-process gateway has no record store attached, but
``DATABASE_URL`` names the deployment's; the shadow comparisons still reach it (for the
server's ``GET /shadow``)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from tests.http.conftest import make_settings
from tests.shadow.conftest import V1_MODEL

from llm_gateway.gateway import LLMGateway, build_gateway, set_llm_gateway
from llm_gateway.llm_service import get_llm_client
from llm_gateway.node_integration.loop_thread import background_loop
from llm_gateway.rollout.shadow import shadow_runner
from llm_gateway.simulator.testing import SimulatorHandle
from llm_gateway.storage.migrate import upgrade
from llm_gateway.storage.shadow_queries import comparison_rows, shadow_spend
from llm_gateway.storage.store import RecordStore


@pytest.fixture
def worker_gateway(
    sim: SimulatorHandle, tmp_path: Path, shadow_env: Any
) -> Iterator[tuple[LLMGateway, str]]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'deployment.db'}"
    upgrade(url)  # the served gateway (or `llm-gateway db upgrade`) made the schema
    settings = make_settings(
        tmp_path,
        GATEWAY_SIMULATE=False,
        OPENROUTER_API_KEY="sk-or-shadow-0000",
        OPENROUTER_BASE_URL=sim.base_url,
        DATABASE_URL=url,
    )
    live = build_gateway(settings)  # as get_llm_gateway() builds it: no records attached
    set_llm_gateway(live)
    yield live, url
    runner = shadow_runner(live)
    background_loop().run(runner.drain())
    if runner.own_sink is not None:
        background_loop().run(runner.own_sink.aclose())
    background_loop().run(live.aclose())
    set_llm_gateway(None)


def test_comparisons_of_a_worker_reach_the_record_store(
    sim: SimulatorHandle, worker_gateway: tuple[LLMGateway, str], shadow_env: Any
) -> None:
    gateway, url = worker_gateway
    sim.set_scenario({"zero_latency": True})
    shadow_env(GATEWAY_V2_SHADOW_PERCENTAGE=100)
    assert gateway.records is None
    for user in ("w1", "w2"):
        get_llm_client("formatting", V1_MODEL, user=user).invoke("Format: a, b")
    runner = shadow_runner(gateway)
    background_loop().run(runner.drain())
    assert runner.own_sink is not None
    background_loop().run(runner.own_sink.flush())

    async def read() -> tuple[list[dict[str, Any]], Any]:
        store = RecordStore.open(url, pool_size=1)
        try:
            since = datetime.now(UTC) - timedelta(hours=1)
            return await comparison_rows(store, since), await shadow_spend(store, since)
        finally:
            await store.aclose()

    rows, spent = background_loop().run(read())
    assert [r["node"] for r in rows] == ["formatter", "formatter"]
    assert all(r["v2_ok"] and r["v1_ok"] for r in rows)
    assert float(spent) == pytest.approx(sum(r["v2_cost_usd"] for r in rows))
    assert float(spent) == pytest.approx(float(runner.budget.spent))
