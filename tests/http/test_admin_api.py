"""The admin API: every endpoint's success, bad input (422 naming the field) and auth."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from tests.http.conftest import AUTH

from llm_gateway.gateway import LLMGateway

BASE = "/api/admin/gateway"
HELLO = [{"role": "user", "content": "Hello"}]

# (method, path, json body) — one valid call per endpoint
ENDPOINTS: list[tuple[str, str, Any]] = [
    ("GET", "/health", None),
    ("POST", "/test-selection", {"node_name": "formatter", "capabilities": ["streaming"]}),
    ("GET", "/cost-optimization", None),
    ("GET", "/traces?hours=1", None),
    ("GET", "/traces/some-trace", None),
    ("GET", "/policies", None),
    ("PUT", "/policies/writer", {"model_id": "claude-sonnet", "mode": "override"}),
    ("DELETE", "/policies/writer", None),
    ("PUT", "/policies/bulk", {"updates": {"writer": "gemini-2.5-pro"}}),
    ("POST", "/policies/reload", None),
    ("GET", "/validate", None),
    ("GET", "/recommendations/writer", None),
    ("GET", "/audit", None),
]


async def call(
    client: httpx.AsyncClient,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    return await client.request(method, BASE + path, json=body, headers=headers)


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
async def test_missing_token_is_401(
    client: httpx.AsyncClient, method: str, path: str, body: Any
) -> None:
    response = await call(client, method, path, body)

    assert response.status_code == 401
    assert response.json()["error"]["type"] == "authentication_error"


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
async def test_wrong_token_is_403(
    client: httpx.AsyncClient, method: str, path: str, body: Any
) -> None:
    response = await call(client, method, path, body, {"Authorization": "Bearer nope"})

    assert response.status_code == 403
    assert response.json()["error"]["type"] == "permission_error"


async def test_basic_auth_is_not_a_bearer_token(client: httpx.AsyncClient) -> None:
    response = await call(client, "GET", "/health", headers={"Authorization": "Basic YWRtaW4="})

    assert response.status_code == 401


async def test_auth_is_checked_before_the_body(client: httpx.AsyncClient) -> None:
    response = await call(client, "PUT", "/policies/writer", {"nonsense": 1})

    assert response.status_code == 401


async def test_health(client: httpx.AsyncClient) -> None:
    response = await call(client, "GET", "/health", headers=AUTH)

    assert response.status_code == 200
    assert response.json()["overall_status"] in {"healthy", "degraded", "unhealthy"}
    assert "claude-sonnet" in response.json()["models"]


async def test_test_selection_returns_selection_chain_and_reasons(
    client: httpx.AsyncClient,
) -> None:
    response = await call(
        client,
        "POST",
        "/test-selection",
        {"node_name": "formatter", "capabilities": ["streaming"], "strategy": "cost_optimized"},
        AUTH,
    )

    assert response.status_code == 200
    body = response.json()
    assert body["chain"] == [body["selected_model"], *body["fallback_chain"]]
    assert body["strategy"] == "cost_optimized"
    assert body["reasons"]
    assert body["node_configured"] is True


async def test_test_selection_calls_no_model(
    client: httpx.AsyncClient, gateway: LLMGateway
) -> None:
    await call(client, "POST", "/test-selection", {"node_name": "writer"}, AUTH)

    assert gateway.tracer.metrics(1)["request_count"] == 0


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"capabilities": ["streaming"]}, "node_name"),
        ({"node_name": "writer", "capabilities": ["telepathy"]}, "capabilities[0]"),
        ({"node_name": "writer", "strategy": "fastest"}, "strategy"),
        ({"node_name": "writer", "capabilities": "streaming"}, "capabilities"),
        ({"node_name": "writer", "surprise": True}, "surprise"),
    ],
)
async def test_test_selection_bad_body_is_422_naming_the_field(
    client: httpx.AsyncClient, body: dict[str, Any], param: str
) -> None:
    response = await call(client, "POST", "/test-selection", body, AUTH)

    assert response.status_code == 422
    assert response.json()["error"]["param"] == param


async def test_test_selection_with_no_eligible_model_is_422_with_rejections(
    client: httpx.AsyncClient,
) -> None:
    body = {"node_name": "formatter", "capabilities": ["web_search", "vision"]}
    response = await call(client, "POST", "/test-selection", body, AUTH)

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "no_eligible_model"
    assert "gpt-4o" in error["rejected"]


async def test_broken_json_is_400(client: httpx.AsyncClient) -> None:
    response = await client.post(
        BASE + "/test-selection",
        content=b"{oops",
        headers={**AUTH, "Content-Type": "application/json"},
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"


async def test_override_takes_effect_for_the_next_request(client: httpx.AsyncClient) -> None:
    response = await call(
        client,
        "PUT",
        "/policies/writer",
        {"model_id": "claude-sonnet", "mode": "override"},
        AUTH,
    )
    assert response.status_code == 200
    assert response.json()["after"]["model_id"] == "claude-sonnet"
    assert response.json()["effective_model"] == "claude-sonnet"

    answer = await client.post("/v1/chat/completions", json={"model": "writer", "messages": HELLO})
    assert answer.json()["model"] == "claude-sonnet"

    policies = (await call(client, "GET", "/policies", headers=AUTH)).json()
    assert policies["effective"]["writer"] == "claude-sonnet"
    assert policies["nodes"]["writer"]["source"] == "override"


async def test_override_with_unknown_model_is_422(client: httpx.AsyncClient) -> None:
    response = await call(client, "PUT", "/policies/writer", {"model_id": "gpt-9"}, AUTH)

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["param"] == "model_id"
    assert error["code"] == "unknown_model"


async def test_override_failing_hard_requirements_is_422_with_the_reason(
    client: httpx.AsyncClient,
) -> None:
    response = await call(client, "PUT", "/policies/evaluator", {"model_id": "gpt-4o-mini"}, AUTH)

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "requirements_not_met"
    assert "reasoning" in error["message"]


async def test_forced_override_is_accepted_with_a_warning_and_recorded(
    client: httpx.AsyncClient,
) -> None:
    response = await call(
        client,
        "PUT",
        "/policies/evaluator",
        {"model_id": "gpt-4o-mini", "force": True, "reason": "incident 42"},
        {**AUTH, "X-Gateway-Actor": "alice"},
    )

    assert response.status_code == 200
    assert response.json()["after"]["forced"] is True
    assert response.json()["warnings"]
    audit = (await call(client, "GET", "/audit", headers=AUTH)).json()["entries"][0]
    assert audit["forced"] is True
    assert audit["actor"] == "alice"
    assert audit["detail"] == "incident 42"


async def test_override_for_unknown_node_is_404(client: httpx.AsyncClient) -> None:
    response = await call(client, "PUT", "/policies/nobody", {"model_id": "gpt-4o"}, AUTH)

    assert response.status_code == 404
    assert response.json()["error"]["param"] == "node"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"mode": "override"}, "model_id"),
        ({"model_id": "gpt-4o", "mode": "replace"}, "mode"),
        ({"model_id": ""}, "model_id"),
        ({"model_id": "gpt-4o", "force": "sure"}, "force"),
    ],
)
async def test_override_bad_body_is_422_naming_the_field(
    client: httpx.AsyncClient, body: dict[str, Any], param: str
) -> None:
    response = await call(client, "PUT", "/policies/writer", body, AUTH)

    assert response.status_code == 422
    assert response.json()["error"]["param"] == param


async def test_delete_override_restores_the_files_choice(client: httpx.AsyncClient) -> None:
    default = (await call(client, "GET", "/policies", headers=AUTH)).json()["effective"]["writer"]
    await call(client, "PUT", "/policies/writer", {"model_id": "claude-sonnet"}, AUTH)

    response = await call(client, "DELETE", "/policies/writer", headers=AUTH)

    assert response.status_code == 200
    assert response.json()["removed"] is True
    assert response.json()["before"]["model_id"] == "claude-sonnet"
    assert response.json()["effective_model"] == default
    again = await call(client, "DELETE", "/policies/writer", headers=AUTH)
    assert again.json()["removed"] is False


async def test_delete_override_of_unknown_node_is_404(client: httpx.AsyncClient) -> None:
    response = await call(client, "DELETE", "/policies/nobody", headers=AUTH)

    assert response.status_code == 404


async def test_bulk_update_applies_every_entry(client: httpx.AsyncClient) -> None:
    updates = {"writer": "gemini-2.5-pro", "evaluator": "claude-sonnet"}
    response = await call(client, "PUT", "/policies/bulk", {"updates": updates}, AUTH)

    assert response.status_code == 200
    applied = response.json()["applied"]
    assert {node: entry["after"]["model_id"] for node, entry in applied.items()} == updates
    effective = (await call(client, "GET", "/policies", headers=AUTH)).json()["effective"]
    assert effective["evaluator"] == "claude-sonnet"


async def test_bulk_update_with_one_bad_entry_changes_nothing(client: httpx.AsyncClient) -> None:
    updates = {"writer": "claude-sonnet", "evaluator": "gpt-4o-mini", "nobody": "gpt-4o"}
    response = await call(client, "PUT", "/policies/bulk", {"updates": updates}, AUTH)

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "bulk_update_rejected"
    assert set(error["details"]) == {"evaluator", "nobody"}
    policies = (await call(client, "GET", "/policies", headers=AUTH)).json()
    assert all(entry["override"] is None for entry in policies["nodes"].values())


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({}, "updates"),
        ({"updates": {}}, "updates"),
        ({"updates": {"writer": 3}}, "updates.writer"),
        ({"updates": ["writer"]}, "updates"),
    ],
)
async def test_bulk_update_bad_body_is_422_naming_the_field(
    client: httpx.AsyncClient, body: dict[str, Any], param: str
) -> None:
    response = await call(client, "PUT", "/policies/bulk", body, AUTH)

    assert response.status_code == 422
    assert response.json()["error"]["param"] == param


async def test_every_change_is_audited_with_before_and_after(client: httpx.AsyncClient) -> None:
    await call(client, "PUT", "/policies/writer", {"model_id": "claude-sonnet"}, AUTH)
    await call(client, "PUT", "/policies/writer", {"model_id": "gpt-4o"}, AUTH)
    await call(client, "DELETE", "/policies/writer", headers=AUTH)
    await call(client, "POST", "/policies/reload", headers=AUTH)

    entries = (await call(client, "GET", "/audit", headers=AUTH)).json()["entries"]

    assert [e["action"] for e in entries] == [
        "config.reload",
        "override.delete",
        "override.set",
        "override.set",
    ]
    assert entries[2]["before"]["model_id"] == "claude-sonnet"
    assert entries[2]["after"]["model_id"] == "gpt-4o"
    assert all(e["actor"] == "admin" and e["at"] for e in entries)
    only_writer = await client.get(BASE + "/audit?target=writer&limit=1", headers=AUTH)
    assert only_writer.json()["count"] == 1


async def test_audit_limit_out_of_range_is_422(client: httpx.AsyncClient) -> None:
    response = await call(client, "GET", "/audit?limit=0", headers=AUTH)

    assert response.status_code == 422
    assert response.json()["error"]["param"] == "limit"


async def test_reload_reports_the_live_config(client: httpx.AsyncClient) -> None:
    response = await call(client, "POST", "/policies/reload", headers=AUTH)

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "reloaded"
    assert body["models"] > 0
    assert body["config_version"] == body["config_version_before"]  # files unchanged


async def test_validate_reports_files_and_live_state(client: httpx.AsyncClient) -> None:
    response = await call(client, "GET", "/validate", headers=AUTH)

    assert response.status_code == 200
    body = response.json()
    assert body["valid"] is True
    assert body["files"]["issues"] == []
    assert body["live"]["reload_pending"] is False


async def test_recommendations_for_a_node(client: httpx.AsyncClient) -> None:
    response = await call(client, "GET", "/recommendations/writer", headers=AUTH)

    assert response.status_code == 200
    body = response.json()
    assert "performance_data" in body
    assert body["node_name"] == "writer"


async def test_recommendations_for_unknown_node_is_404(client: httpx.AsyncClient) -> None:
    response = await call(client, "GET", "/recommendations/nobody", headers=AUTH)

    assert response.status_code == 404


async def test_traces_list_and_detail(client: httpx.AsyncClient) -> None:
    answer = await client.post("/v1/chat/completions", json={"model": "writer", "messages": HELLO})
    trace_id = answer.headers["x-trace-id"]

    listed = await call(client, "GET", "/traces?hours=1", headers=AUTH)
    detail = await call(client, "GET", f"/traces/{trace_id}", headers=AUTH)

    assert listed.status_code == 200
    assert listed.json()["count"] == 1
    assert listed.json()["traces"][0]["trace_id"] == trace_id
    assert listed.json()["metrics"]["request_count"] == 1
    assert detail.status_code == 200
    assert detail.json()["model"] == answer.json()["model"]
    assert detail.json()["attempts"]


async def test_traces_errors_only(client: httpx.AsyncClient) -> None:
    await client.post("/v1/chat/completions", json={"model": "writer", "messages": HELLO})

    response = await call(client, "GET", "/traces?hours=1&errors_only=true", headers=AUTH)

    assert response.json()["count"] == 0


@pytest.mark.parametrize("query", ["hours=0", "hours=-1", "hours=abc", "limit=5000"])
async def test_traces_bad_query_is_422_naming_the_param(
    client: httpx.AsyncClient, query: str
) -> None:
    response = await call(client, "GET", f"/traces?{query}", headers=AUTH)

    assert response.status_code == 422
    assert response.json()["error"]["param"] == query.split("=")[0]


async def test_unknown_trace_is_404(client: httpx.AsyncClient) -> None:
    response = await call(client, "GET", "/traces/nope", headers=AUTH)

    assert response.status_code == 404
    assert response.json()["error"]["param"] == "trace_id"


async def test_cost_optimization_reports_the_ledger_against_cheaper_models(
    client: httpx.AsyncClient,
) -> None:
    await call(client, "PUT", "/policies/writer", {"model_id": "claude-sonnet"}, AUTH)
    for _ in range(3):
        await client.post("/v1/chat/completions", json={"model": "writer", "messages": HELLO})

    response = await call(client, "GET", "/cost-optimization?hours=1", headers=AUTH)

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["basis"].startswith("ledger")
    writer = next(n for n in body["nodes"] if n["node"] == "writer")
    assert writer["current_model"] == "claude-sonnet"
    assert writer["requests"] == 3
    assert writer["models"] == {"claude-sonnet": 3}
    assert writer["candidates"], "cheaper eligible models than claude-sonnet exist"
    assert float(writer["potential_savings_usd"]) > 0
    assert float(body["totals"]["actual_cost_usd"]) > 0
    assert writer["realised_vs_v1"]["baseline_model"] == "gemini-2.5-pro"


async def test_cost_optimization_bad_hours_is_422(client: httpx.AsyncClient) -> None:
    response = await call(client, "GET", "/cost-optimization?hours=0", headers=AUTH)

    assert response.status_code == 422
    assert response.json()["error"]["param"] == "hours"
