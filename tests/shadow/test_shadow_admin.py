"""The evidence, exposed: ``GET /api/admin/gateway/shadow`` (summary per node, budget, bounds,
recent pairs), ``shadow_summary`` from Python, and the Prometheus families."""

from __future__ import annotations

from typing import Any

import httpx
from tests.http.conftest import AUTH
from tests.shadow.conftest import V1_MODEL, drain

from llm_gateway.app import create_app
from llm_gateway.gateway import LLMGateway
from llm_gateway.llm_service import get_llm_client
from llm_gateway.node_integration.loop_thread import background_loop
from llm_gateway.rollout.shadow import ShadowRunner
from llm_gateway.rollout.shadow_summary import shadow_summary, summarize
from llm_gateway.simulator.testing import SimulatorHandle

PROMPTS = ["Summarise the tides.", "Describe a lighthouse.", "Name three fish."]


def _get(gateway: LLMGateway, path: str, **params: Any) -> httpx.Response:
    app = create_app(gateway.settings, gateway=gateway)  # no lifespan: the gateway as it is

    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            return await client.get(path, params=params, headers=AUTH)

    return background_loop().run(call())


def test_the_shadow_endpoint_reports_the_comparisons(
    sim: SimulatorHandle, gateway: LLMGateway, runner: ShadowRunner, shadow_env: Any
) -> None:
    sim.set_scenario({"zero_latency": True})
    shadow_env(GATEWAY_V2_SHADOW_PERCENTAGE=100, GATEWAY_V2_SHADOW_CONCURRENCY=3)
    for prompt in PROMPTS:
        get_llm_client("writing", V1_MODEL).invoke(prompt)
    get_llm_client("formatting", V1_MODEL).invoke(PROMPTS[0])
    drain(runner)

    answer = _get(gateway, "/api/admin/gateway/shadow", hours=1, limit=2)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["enabled"] is True and body["percentage"] == 100
    assert body["in_flight"] == 0 and body["dropped"] == {"budget": 0, "concurrency": 0}
    assert body["concurrency"] == {"limit": 3, "in_flight": 0}
    budget = body["budget"]
    assert budget["spent_usd"] > 0 and budget["cap_usd"] == 5.0 and not budget["exhausted"]
    assert budget["recorded_usd"] == budget["spent_here_usd"] == budget["spent_usd"]
    assert "Jaccard" in body["similarity_measure"]
    assert set(body["summary"]) == {"writer", "formatter"}
    writer = body["summary"]["writer"]
    assert writer["comparisons"] == 3 and 0.0 <= writer["similarity_mean"] <= 1.0
    for arm in ("v1", "v2"):
        stats = writer[arm]
        assert stats["error_rate"] == 0.0
        assert stats["latency_p50_ms"] <= stats["latency_p95_ms"]
        assert stats["cost_per_request_usd"] > 0 and stats["output_chars_mean"] > 0
    assert len(body["recent"]) == 2 and body["recent"][0]["arm"] == "shadow"
    assert body["recent"][0]["at"] >= body["recent"][1]["at"]

    only = _get(gateway, "/api/admin/gateway/shadow", node="formatter").json()
    assert set(only["summary"]) == {"formatter"}
    assert only["summary"]["formatter"]["comparisons"] == 1

    from_python = background_loop().run(shadow_summary(gateway.records, hours=1))
    assert from_python == body["summary"]

    exposition = gateway.metrics.exposition().decode()
    assert 'llm_gateway_shadow_runs_total{node="writer",v2_status="ok"} 3.0' in exposition
    assert 'llm_gateway_shadow_dropped_total{reason="budget"} 0.0' in exposition
    assert 'llm_gateway_shadow_similarity_count{node="writer"} 3.0' in exposition
    assert "llm_gateway_shadow_in_flight 0.0" in exposition


def test_the_endpoint_needs_the_admin_token(gateway: LLMGateway) -> None:
    app = create_app(gateway.settings, gateway=gateway)

    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            return await client.get("/api/admin/gateway/shadow")

    answer = background_loop().run(call())
    assert answer.status_code == 401
    off = _get(gateway, "/api/admin/gateway/shadow").json()
    assert off["enabled"] is False and off["summary"] == {} and off["recent"] == []


def test_summarize_by_hand() -> None:
    def row(node: str, v1_ms: float, v2_ms: float | None, sim: float | None, **kw: Any) -> Any:
        base = {
            "node": node,
            "similarity": sim,
            "v1_ok": True,
            "v2_ok": v2_ms is not None,
            "v1_latency_ms": v1_ms,
            "v2_latency_ms": v2_ms,
            "v1_cost_usd": 0.002,
            "v2_cost_usd": 0.001 if v2_ms is not None else None,
            "v1_output_chars": 100,
            "v2_output_chars": 80 if v2_ms is not None else None,
        }
        return {**base, **kw}

    rows = [
        row("writer", 100, 200, 0.5),
        row("writer", 300, 400, 0.7),
        row("writer", 200, None, None, v2_error="boom"),
        row("writer", 400, 100, 0.9, v1_output_chars=0),
    ]
    summary = summarize(rows)["writer"]
    assert summary["comparisons"] == 4 and summary["similarity_mean"] == 0.7
    assert summary["v1"]["latency_p50_ms"] == 200 and summary["v1"]["latency_p95_ms"] == 400
    assert summary["v2"]["latency_p50_ms"] == 200 and summary["v2"]["latency_p95_ms"] == 400
    assert summary["v2"]["error_rate"] == 0.25 and summary["v1"]["error_rate"] == 0.0
    assert summary["v1"]["cost_per_request_usd"] == 0.002
    assert summary["v2"]["cost_per_request_usd"] == 0.001
    assert summary["v1"]["output_chars_mean"] == 75.0 and summary["v2"]["output_chars_mean"] == 80
    assert summarize([]) == {}
