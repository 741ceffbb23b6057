"""The cost endpoints served over the simulator: no data, data, the flag off, and the 30-day
ranking beside the guide's recommendations."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from tests.http.conftest import AUTH, SimulatedProviders, make_settings

from llm_gateway.app import create_app
from llm_gateway.gateway import build_gateway, set_llm_gateway
from llm_gateway.routes.deps import reset_process_services

BASE = "/api/admin/gateway"
HELLO = [{"role": "user", "content": "Hello"}]


async def client_for(tmp_path: Path, **overrides: object) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(
        tmp_path, DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/costs.sqlite3", **overrides
    )
    gateway = build_gateway(settings, providers=SimulatedProviders())
    app = create_app(settings, gateway=gateway)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as c:
                yield c
    finally:
        set_llm_gateway(None)
        reset_process_services()


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async for c in client_for(tmp_path):
        yield c


@pytest.fixture
async def disabled_client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async for c in client_for(tmp_path, ENABLE_COST_OPTIMIZATION=False):
        yield c


async def test_no_traffic_says_there_is_no_data(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{BASE}/cost-optimization", headers=AUTH)

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "no_data"
    assert "no requests in the last 30 days" in body["message"]
    assert "totals" not in body


async def test_traffic_is_reported_with_candidates_and_realised_savings(
    client: httpx.AsyncClient,
) -> None:
    for node in ("writer", "formatter", "formatter"):
        answer = await client.post("/v1/chat/completions", json={"model": node, "messages": HELLO})
        assert answer.status_code == 200

    body = (await client.get(f"{BASE}/cost-optimization?days=7", headers=AUTH)).json()

    assert body["status"] == "ok"
    assert body["totals"]["requests"] == 3
    nodes = {n["node"]: n for n in body["nodes"]}
    assert nodes["formatter"]["requests"] == 2
    assert nodes["formatter"]["realised_vs_v1"]["baseline_model"] == "gemini-2.5-flash"
    realised = body["totals"]["realised_vs_v1"]
    assert set(realised["nodes"]) == {"writer", "formatter"}
    assert realised["target_pct"] == [15, 30]
    assert "warning" in body  # minutes of data, not a week


async def test_recommendations_rank_on_the_last_30_days(client: httpx.AsyncClient) -> None:
    before = (await client.get(f"{BASE}/recommendations/writer", headers=AUTH)).json()
    await client.post("/v1/chat/completions", json={"model": "writer", "messages": HELLO})

    after = (await client.get(f"{BASE}/recommendations/writer", headers=AUTH)).json()

    assert before["last_30_days"]["status"] == "no_data"
    assert "performance_data" in after  # the guide's fields stay
    evidence = after["last_30_days"]
    assert evidence["status"] == "ok"
    assert evidence["requests"] == 1
    assert evidence["recommended"] == evidence["ranked"][0]["model"]


async def test_flag_off_says_disabled(disabled_client: httpx.AsyncClient) -> None:
    await disabled_client.post("/v1/chat/completions", json={"model": "writer", "messages": HELLO})

    report = await disabled_client.get(f"{BASE}/cost-optimization", headers=AUTH)
    ranking = await disabled_client.get(f"{BASE}/recommendations/writer", headers=AUTH)

    assert report.status_code == 200
    assert report.json()["status"] == "disabled"
    assert "ENABLE_COST_OPTIMIZATION=false" in report.json()["message"]
    assert ranking.json()["last_30_days"]["status"] == "disabled"
    assert ranking.json()["options"]  # selection's own ranking is not a cost feature
