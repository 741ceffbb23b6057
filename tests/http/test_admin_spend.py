"""``GET /spend``: spend over time per node or model, from the record store, exact, agreeing
with the ledger it is summed from; bounded buckets; 422 naming the bad parameter; 503 without a
record store."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from tests.http.conftest import AUTH, make_settings

from llm_gateway.app import create_app
from llm_gateway.gateway import build_gateway, set_llm_gateway
from llm_gateway.routes.deps import reset_process_services

HELLO = [{"role": "user", "content": "Hello"}]
BASE = "/api/admin/gateway"


async def _spend(client: httpx.AsyncClient, query: str) -> httpx.Response:
    return await client.get(f"{BASE}/spend?{query}", headers=AUTH)


async def test_spend_per_node_and_model_adds_up_to_the_ledger(client: httpx.AsyncClient) -> None:
    for node, times in (("writer", 3), ("formatter", 2)):
        for _ in range(times):
            answer = await client.post(
                "/v1/chat/completions", json={"model": node, "messages": HELLO}
            )
            assert answer.status_code == 200
    ledger = (await client.get(f"{BASE}/ledger", headers=AUTH)).json()
    by_node: dict[str, Decimal] = {}
    by_model: dict[str, Decimal] = {}
    for row in ledger["rows"]:
        by_node[row["node"]] = by_node.get(row["node"], Decimal(0)) + Decimal(row["cost_usd"])
        by_model[row["model"]] = by_model.get(row["model"], Decimal(0)) + Decimal(row["cost_usd"])

    nodes = (await _spend(client, "hours=1&by=node")).json()
    assert nodes["by"] == "node" and nodes["bucket_s"] == 60 and nodes["requests"] == 5
    assert len(nodes["buckets"]) == 61
    assert Decimal(nodes["total_cost_usd"]) == Decimal(ledger["total_cost_usd"]) > 0
    assert {s["key"]: Decimal(s["total_cost_usd"]) for s in nodes["series"]} == by_node
    for series in nodes["series"]:
        assert len(series["cost_usd"]) == len(series["requests"]) == 61
        assert sum(Decimal(c) for c in series["cost_usd"]) == Decimal(series["total_cost_usd"])
    assert {s["key"]: s["total_requests"] for s in nodes["series"]} == {"writer": 3, "formatter": 2}

    models = (await _spend(client, "hours=1&by=model&bucket_s=3600")).json()
    assert models["bucket_s"] == 3600 and len(models["buckets"]) == 2
    assert {s["key"]: Decimal(s["total_cost_usd"]) for s in models["series"]} == by_model

    writer = (await _spend(client, "hours=1&by=model&node=writer&series=1")).json()
    assert writer["requests"] == 3 and writer["node"] == "writer"
    assert sum(s["total_requests"] for s in writer["series"]) == 3


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("hours=24&bucket_s=60", "bucket_s"),
        ("bucket_s=59", "bucket_s"),
        ("by=user", "by"),
        ("hours=0", "hours"),
        ("series=0", "series"),
    ],
)
async def test_a_bad_query_is_422_naming_the_param(
    client: httpx.AsyncClient, query: str, param: str
) -> None:
    answer = await _spend(client, query)
    assert answer.status_code == 422
    assert answer.json()["error"]["param"] == param


async def test_too_many_buckets_says_what_bucket_would_do(client: httpx.AsyncClient) -> None:
    error = (await _spend(client, "hours=24&bucket_s=60")).json()["error"]
    assert error["code"] == "too_many_buckets" and "at least 174" in error["message"]


async def test_without_a_record_store_it_is_503(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, DATABASE_URL="")
    app = create_app(settings, gateway=build_gateway(settings))
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://gw") as c:
                answer = await _spend(c, "hours=1")
        assert answer.status_code == 503
        assert answer.json()["error"]["code"] == "no_record_store"
    finally:
        set_llm_gateway(None)
        reset_process_services()
