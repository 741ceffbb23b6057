"""What the dashboard's Nodes and Models pages read: each node's requirements in GET /policies,
each model's catalogue entry in GET /models — from the files as loaded, not restated."""

from __future__ import annotations

import httpx
from tests.http.conftest import AUTH

from llm_gateway.gateway import LLMGateway

BASE = "/api/admin/gateway"


async def test_policies_give_every_node_its_requirements(
    client: httpx.AsyncClient, gateway: LLMGateway
) -> None:
    nodes = (await client.get(f"{BASE}/policies", headers=AUTH)).json()["nodes"]

    assert set(nodes) == set(gateway.registry.get_all_nodes())
    writer = nodes["writer"]["requirements"]
    assert writer["required_capabilities"] == ["creative_writing", "streaming"]
    assert writer["preferred_capabilities"] == ["function_calling", "long_context"]
    assert writer["min_context_window"] == 8000
    assert writer["max_cost_tier"] == "HIGH"
    assert writer["reasoning_required"] is False
    assert nodes["evaluator"]["requirements"]["reasoning_required"] is True
    assert nodes["formatter"]["requirements"]["default_strategy"] == "cost_optimized"
    assert nodes["formatter"]["strategy"] == "cost_optimized"
    assert nodes["search_*"]["requirements"]["required_capabilities"] == ["web_search"]
    assert nodes["writer"]["requirements"]["deadlines"] == {}


async def test_requirements_stay_when_no_model_can_serve_the_node(
    client: httpx.AsyncClient, gateway: LLMGateway
) -> None:
    searchers = [
        lid
        for lid, policy in gateway.registry.get_all_policies().items()
        if "web_search" in policy.capabilities
    ]
    for model_id in searchers:
        switched = await client.put(
            f"{BASE}/models/{model_id}", json={"enabled": False}, headers=AUTH
        )
        assert switched.status_code == 200

    node = (await client.get(f"{BASE}/policies", headers=AUTH)).json()["nodes"]["search_perplexity"]

    assert node["source"] == "none" and node["model_id"] is None
    assert node["error"]
    assert node["requirements"]["required_capabilities"] == ["web_search"]


async def test_models_give_the_catalogue_entry_and_state(
    client: httpx.AsyncClient, gateway: LLMGateway
) -> None:
    answer = (await client.get(f"{BASE}/models", headers=AUTH)).json()
    models = {m["model_id"]: m for m in answer["models"]}

    assert answer["count"] == len(gateway.registry.get_all_policies()) == len(models)
    mini = models["gpt-4o-mini"]
    assert mini["cost_tier"] == "LOW" and mini["context_window"] == 128000
    assert mini["capabilities"] == ["fast", "function_calling", "json_mode", "streaming"]
    assert mini["input_cost_per_1k"] == "0.00015"
    assert mini["cached_input_cost_per_1k"] == "0.000075"
    assert mini["reasoning_cost_per_1k"] is None
    assert mini["typical_latency_ms"] == 350
    assert mini["fallback_models"] == ["gemini-2.5-flash", "llama-3.3-70b"]
    assert 0 < mini["quality_score"] <= 1
    assert mini["disabled_by_admin"] is False and mini["circuit_open"] is False

    switched = await client.put(
        f"{BASE}/models/gpt-4o-mini", json={"enabled": False, "reason": "test"}, headers=AUTH
    )
    assert switched.json()["changed"] is True and switched.json()["applied_by"] == 1
    again = (await client.get(f"{BASE}/models", headers=AUTH)).json()["models"]
    assert next(m for m in again if m["model_id"] == "gpt-4o-mini")["disabled_by_admin"] is True
