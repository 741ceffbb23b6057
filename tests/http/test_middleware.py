"""GatewayMiddleware (ids, body limit, access log) and a host app that mounts our routers."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from fastapi import FastAPI, Request
from tests.http.conftest import ADMIN_TOKEN, AUTH, make_settings

from llm_gateway.gateway import LLMGateway, set_llm_gateway
from llm_gateway.middleware import GatewayMiddleware
from llm_gateway.middleware.gateway_middleware import GatewayMiddleware as FromModule
from llm_gateway.middleware.trace_context import choose_trace_id, trace_id_from_traceparent
from llm_gateway.routes.admin_gateway import admin_gateway_router
from llm_gateway.routes.chat_gateway import chat_gateway_router
from llm_gateway.routes.deps import reset_process_services
from llm_gateway.settings import reset_settings_cache

HELLO = [{"role": "user", "content": "Hello"}]
PARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def test_middleware_is_importable_from_the_package_and_the_module() -> None:
    assert GatewayMiddleware is FromModule


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (PARENT, "4bf92f3577b34da6a3ce929d0e0e4736"),
        ("00-00000000000000000000000000000000-00f067aa0ba902b7-01", None),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", None),
        ("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", None),
        ("00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01", None),
        ("garbage", None),
        (None, None),
    ],
)
def test_traceparent_parsing(header: str | None, expected: str | None) -> None:
    assert trace_id_from_traceparent(header) == expected


def test_x_trace_id_wins_and_bad_values_are_replaced() -> None:
    assert choose_trace_id("mine", PARENT) == "mine"
    generated = choose_trace_id("bad value with spaces", None)
    assert len(generated) == 32 and int(generated, 16) >= 0


async def test_ids_are_returned_and_reach_the_gateway(
    client: httpx.AsyncClient, gateway: LLMGateway
) -> None:
    response = await client.post(
        "/v1/chat/completions", json={"messages": HELLO}, headers={"traceparent": PARENT}
    )

    assert response.headers["x-trace-id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert len(response.headers["x-request-id"]) == 32
    assert response.headers["server-timing"].startswith("gateway;dur=")
    assert gateway.tracer.get_trace("4bf92f3577b34da6a3ce929d0e0e4736") is not None
    assert response.headers.get_list("x-trace-id") == ["4bf92f3577b34da6a3ce929d0e0e4736"]


async def test_callers_request_id_is_kept(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz", headers={"X-Request-Id": "req-1"})

    assert response.headers["x-request-id"] == "req-1"
    assert len(response.headers["x-trace-id"]) == 32


async def test_body_over_the_limit_is_413_by_content_length(
    tmp_path: Path, gateway: LLMGateway
) -> None:
    from llm_gateway.app import create_app

    app = create_app(make_settings(tmp_path, GATEWAY_MAX_BODY_BYTES=2048), gateway=gateway)
    big = [{"role": "user", "content": "x" * 5000}]
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
            response = await client.post("/v1/chat/completions", json={"messages": big})

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert response.json()["error"]["param"] == "body"


async def test_streamed_body_over_the_limit_is_413(tmp_path: Path, gateway: LLMGateway) -> None:
    from llm_gateway.app import create_app

    app = create_app(make_settings(tmp_path, GATEWAY_MAX_BODY_BYTES=2048), gateway=gateway)

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: chunked upload
        for _ in range(10):
            yield b" " * 1000

    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
            openai = await client.post("/v1/chat/completions", content=chunks())
            admin = await client.post(
                "/api/admin/gateway/test-selection",
                content=chunks(),
                headers={**AUTH, "Content-Type": "application/json"},
            )

    assert openai.status_code == 413
    assert admin.status_code == 413


async def test_access_log_is_debug_only_by_default(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="llm_gateway.access"):
        await client.get("/healthz")
    assert not [r for r in caplog.records if r.name == "llm_gateway.access"]

    with caplog.at_level(logging.DEBUG, logger="llm_gateway.access"):
        await client.get("/healthz", headers={"X-Trace-Id": "t-1"})
    record = next(r for r in caplog.records if r.name == "llm_gateway.access")
    fields = orjson.loads(record.getMessage())
    assert fields["path"] == "/healthz"
    assert fields["status"] == 200
    assert fields["trace_id"] == "t-1"


@pytest.fixture
def host_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """The process settings a host app's routers and middleware read."""
    monkeypatch.setenv("GATEWAY_ADMIN_TOKEN", ADMIN_TOKEN)
    monkeypatch.setenv("GATEWAY_AUDIT_LOG_FILE", str(tmp_path / "host-audit.jsonl"))
    reset_settings_cache()
    reset_process_services()
    yield
    reset_settings_cache()
    reset_process_services()


async def test_host_app_with_our_routers_and_middleware(
    host_env: None, gateway: LLMGateway
) -> None:
    """The guide's main.py: include both routers and add the middleware on its own app."""
    host = FastAPI()

    @host.get("/mine")
    async def mine(request: Request) -> dict[str, str]:
        return {"trace_id": request.state.trace_id}

    host.include_router(admin_gateway_router)
    host.include_router(chat_gateway_router)
    host.add_middleware(GatewayMiddleware)
    set_llm_gateway(gateway)  # the process gateway, as get_llm_gateway() returns it

    transport = httpx.ASGITransport(app=host)
    async with httpx.AsyncClient(transport=transport, base_url="http://host") as client:
        own = await client.get("/mine", headers={"X-Trace-Id": "host-trace"})
        health = await client.get("/api/admin/gateway/health", headers=AUTH)
        refused = await client.get("/api/admin/gateway/health")
        chat = await client.post("/api/chat/writer", json={"messages": HELLO})
        bad = await client.put("/api/admin/gateway/policies/writer", json={}, headers=AUTH)

    assert own.json() == {"trace_id": "host-trace"}
    assert own.headers["x-trace-id"] == "host-trace"
    assert health.status_code == 200
    assert refused.status_code == 401
    assert refused.json()["error"]["type"] == "authentication_error"
    assert chat.status_code == 200
    assert chat.json()["node_name"] == "writer"
    assert bad.status_code == 422  # our error shape without our exception handlers
    assert bad.json()["error"]["param"] == "model_id"
