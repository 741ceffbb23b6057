"""``GET /traces`` filters and what a trace holds for the dashboard's trace view: the status
filter (a budget's refusal is kept as a ``refused`` trace), each attempt's ``start_ms``, the
selection's source and the models it rejected — from the record store and from memory alike."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.http.conftest import AUTH, make_settings

from llm_gateway.app import create_app
from llm_gateway.gateway import build_gateway, set_llm_gateway
from llm_gateway.routes.deps import reset_process_services

HELLO = [{"role": "user", "content": "Hello"}]
BASE = "/api/admin/gateway"


@pytest.fixture(params=["record_store", "memory"])
async def client(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Any]:
    """The app on the in-process simulator, with its SQLite record store or none at all."""
    extra = {} if request.param == "record_store" else {"DATABASE_URL": ""}
    settings = make_settings(tmp_path, **extra)
    gateway = build_gateway(settings)
    app = create_app(settings, gateway=gateway)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://gw") as c:
                yield c
    finally:
        set_llm_gateway(None)
        reset_process_services()


async def _chat(client: httpx.AsyncClient, node: str = "writer") -> httpx.Response:
    return await client.post("/v1/chat/completions", json={"model": node, "messages": HELLO})


async def _traces(client: httpx.AsyncClient, query: str) -> list[dict[str, Any]]:
    answer = await client.get(f"{BASE}/traces?{query}", headers=AUTH)
    assert answer.status_code == 200, answer.text
    traces: list[dict[str, Any]] = answer.json()["traces"]
    return traces


async def test_a_budget_refusal_is_kept_and_found_by_status(client: httpx.AsyncClient) -> None:
    answered = await _chat(client)
    assert answered.status_code == 200
    put = await client.put(f"{BASE}/budgets/gateway", json={"day": "0.000000001"}, headers=AUTH)
    assert put.status_code == 200, put.text
    refused = await _chat(client)
    assert refused.status_code == 429 and refused.json()["error"]["type"] == "budget_exceeded"

    [ok] = await _traces(client, "hours=1&status=ok")
    [kept] = await _traces(client, "hours=1&status=refused")
    assert ok["trace_id"] == answered.headers["x-trace-id"]
    assert kept["trace_id"] == refused.headers["x-trace-id"]
    assert kept["ok"] is False and kept["status"] == "refused" and kept["attempts"] == []
    assert kept["error"]["type"] == "budget_exceeded" and kept["cost"]["total"] == "0"
    assert kept["selected_model"] and kept["model"] is None
    assert await _traces(client, "hours=1&status=error") == []
    failed = await _traces(client, "hours=1&errors_only=true")
    assert [t["trace_id"] for t in failed] == [kept["trace_id"]]
    writer = await _traces(client, "hours=1&node=writer&status=refused")
    assert [t["trace_id"] for t in writer] == [kept["trace_id"]]
    assert await _traces(client, "hours=1&node=formatter&status=refused") == []
    detail = await client.get(f"{BASE}/traces/{kept['trace_id']}", headers=AUTH)
    assert detail.status_code == 200 and detail.json()["status"] == "refused"
    await client.delete(f"{BASE}/budgets/gateway", headers=AUTH)


async def test_a_trace_has_the_selection_and_each_attempts_start(
    client: httpx.AsyncClient,
) -> None:
    answer = await _chat(client, "formatter")
    assert answer.status_code == 200
    detail = (
        await client.get(f"{BASE}/traces/{answer.headers['x-trace-id']}", headers=AUTH)
    ).json()
    assert detail["selection_source"] in {"requested", "override", "node_default", "score"}
    assert detail["selected_model"] == detail["model"] == answer.json()["model"]
    assert detail["fallback_chain"] and detail["selection_reasons"]
    assert detail["rejected"] and all(
        isinstance(v, list) and v for v in detail["rejected"].values()
    )
    [attempt] = detail["attempts"]
    assert attempt["model"] == detail["model"] and attempt["ok"] is True
    assert 0 <= attempt["start_ms"] <= detail["duration_ms"]
    assert attempt["start_ms"] + attempt["duration_ms"] <= detail["duration_ms"] + 0.01


@pytest.mark.parametrize("status", ["failed", "OK", ""])
async def test_an_unknown_status_is_422_naming_it(client: httpx.AsyncClient, status: str) -> None:
    answer = await client.get(f"{BASE}/traces?status={status}", headers=AUTH)
    if status == "":
        assert answer.status_code == 200  # an empty filter is no filter
        return
    assert answer.status_code == 422
    assert answer.json()["error"]["param"] == "status"
