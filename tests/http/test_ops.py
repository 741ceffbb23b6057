"""/healthz, /readyz, /metrics, the error shape for unknown routes, and the OpenAPI schema."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from tests.gateway.scripted_provider import Answer, ScriptedProvider, SingleProviderRegistry
from tests.http.conftest import AUTH, make_settings

from llm_gateway.app import create_app
from llm_gateway.gateway import build_gateway

HELLO = [{"role": "user", "content": "Hello"}]


async def test_healthz(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "alive"}


async def test_readyz_when_started(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")

    assert response.status_code == 200
    assert response.json()["status"] == "ready"
    assert response.json()["checks"]["config"] == "ok"


async def test_readyz_before_start_is_503(app: FastAPI) -> None:
    transport = httpx.ASGITransport(app=app)  # lifespan not run: not started
    async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
        response = await client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["status"] == "not_ready"


async def test_metrics_count_requests(client: httpx.AsyncClient) -> None:
    await client.post("/v1/chat/completions", json={"model": "writer", "messages": HELLO})

    response = await client.get("/metrics")

    assert response.status_code == 200
    assert "llm_gateway_requests_total" in response.text


async def test_unknown_path_and_wrong_method_use_the_error_shape(
    client: httpx.AsyncClient,
) -> None:
    missing = await client.get("/nope")
    wrong = await client.get("/v1/chat/completions")

    assert missing.status_code == 404
    assert missing.json()["error"]["type"] == "not_found_error"
    assert wrong.status_code == 405
    assert wrong.json()["error"]["type"] == "invalid_request_error"


EXPECTED_OPERATIONS = {
    ("post", "/v1/chat/completions"),
    ("get", "/v1/models"),
    ("get", "/v1/rollout"),
    ("post", "/v1/rollout/records"),
    ("get", "/api/admin/gateway/metrics"),
    ("get", "/api/admin/gateway/ledger"),
    ("get", "/api/admin/gateway/spend"),
    ("get", "/api/admin/gateway/models"),
    ("get", "/api/admin/gateway/replicas"),
    ("get", "/api/admin/gateway/budgets"),
    ("put", "/api/admin/gateway/budgets/{scope}"),
    ("delete", "/api/admin/gateway/budgets/{scope}"),
    ("get", "/api/admin/gateway/alerts"),
    ("post", "/api/admin/gateway/alerts/{name}/test"),
    ("put", "/api/admin/gateway/models/{model_id}"),
    ("get", "/api/chat/nodes"),
    ("post", "/api/chat/{node_name}"),
    ("post", "/api/chat/{node_name}/stream"),
    ("get", "/api/admin/gateway/health"),
    ("post", "/api/admin/gateway/test-selection"),
    ("get", "/api/admin/gateway/cost-optimization"),
    ("get", "/api/admin/gateway/shadow"),
    ("get", "/api/admin/gateway/flags"),
    ("put", "/api/admin/gateway/flags"),
    ("post", "/api/admin/gateway/flags/rollback"),
    ("get", "/api/admin/gateway/flags/arm"),
    ("get", "/api/admin/gateway/traces"),
    ("get", "/api/admin/gateway/traces/{trace_id}"),
    ("get", "/api/admin/gateway/policies"),
    ("put", "/api/admin/gateway/policies/bulk"),
    ("put", "/api/admin/gateway/policies/{node}"),
    ("delete", "/api/admin/gateway/policies/{node}"),
    ("post", "/api/admin/gateway/policies/reload"),
    ("get", "/api/admin/gateway/validate"),
    ("get", "/api/admin/gateway/recommendations/{node}"),
    ("get", "/api/admin/gateway/audit"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
}


async def test_openapi_describes_every_endpoint(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()

    operations = {(method, path) for path, item in schema["paths"].items() for method in item}
    assert operations == EXPECTED_OPERATIONS
    for method, path in operations:
        operation = schema["paths"][path][method]
        assert "200" in operation["responses"], (method, path)
        if method in {"post", "put"} and not path.endswith(("/reload", "/test")):
            assert "requestBody" in operation, (method, path)


@pytest.mark.parametrize(
    ("path", "method", "field"),
    [
        ("/v1/chat/completions", "post", "messages"),
        ("/api/admin/gateway/test-selection", "post", "node_name"),
        ("/api/admin/gateway/policies/{node}", "put", "model_id"),
        ("/api/admin/gateway/policies/bulk", "put", "updates"),
    ],
)
async def test_request_bodies_are_documented(
    client: httpx.AsyncClient, path: str, method: str, field: str
) -> None:
    schema = (await client.get("/openapi.json")).json()
    body = schema["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
    if "$ref" in body:
        body = schema["components"]["schemas"][body["$ref"].rsplit("/", 1)[1]]

    assert field in body["properties"]
    assert field in body.get("required", [])


async def test_admin_endpoints_declare_the_bearer_scheme(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()

    assert schema["paths"]["/api/admin/gateway/health"]["get"]["security"] == [{"AdminToken": []}]
    assert "ClientApiKey" in schema["components"]["securitySchemes"]


async def test_unexpected_failure_is_500_without_details(tmp_path: Path) -> None:
    secret = "sk-live-SECRET-0123456789"
    provider = ScriptedProvider(script={"*": [RuntimeError(f"upstream said {secret}")]})
    settings = make_settings(tmp_path)
    gateway = build_gateway(settings, providers=SingleProviderRegistry(provider))
    app = create_app(settings, gateway=gateway)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
            openai = await client.post("/v1/chat/completions", json={"messages": HELLO})
            chat = await client.post("/api/chat/writer", json={"messages": HELLO})

    for response in (openai, chat):
        assert response.status_code == 500
        assert secret not in response.text
        assert "Traceback" not in response.text
        assert response.json()["error"]["message"]


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/api/chat/writer/stream"])
async def test_unexpected_failure_mid_stream_ends_with_an_error_event(
    tmp_path: Path, path: str
) -> None:
    secret = "sk-live-SECRET-0123456789"
    cut = Answer("one two three four", cut_after=2, cut_error=RuntimeError(secret))
    settings = make_settings(tmp_path)
    provider = ScriptedProvider(script={"*": [cut]})
    gateway = build_gateway(settings, providers=SingleProviderRegistry(provider))
    app = create_app(settings, gateway=gateway)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
            response = await client.post(path, json={"messages": HELLO, "stream": True})

    assert response.status_code == 200
    assert secret not in response.text
    assert "data: [DONE]" not in response.text
    last = response.text.strip().split("\n\n")[-1]
    assert '"type":"api_error"' in last


async def test_readyz_stays_ready_while_the_upstream_fails(tmp_path: Path) -> None:
    """A failing upstream degrades health but does not take the instance out of rotation."""
    with socket.socket() as probe:  # a loopback port nobody listens on: connection refused
        probe.bind(("127.0.0.1", 0))
        dead_port = probe.getsockname()[1]
    settings = make_settings(
        tmp_path,
        GATEWAY_SIMULATE=False,
        OPENROUTER_API_KEY="sk-or-test-key",
        OPENROUTER_BASE_URL=f"http://127.0.0.1:{dead_port}/api/v1",
        GATEWAY_MAX_RETRIES=0,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
            failed = await client.post("/v1/chat/completions", json={"messages": HELLO})
            ready = await client.get("/readyz")
            health = await client.get("/api/admin/gateway/health", headers=AUTH)

    assert failed.status_code >= 500
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"
    assert health.json()["overall_status"] in {"degraded", "unhealthy"}
    assert health.json()["providers"]["openrouter"]["status"] == "degraded"
