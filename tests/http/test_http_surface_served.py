"""The HTTP surface around the routes, over a real socket: no redirect built from the client's
Host header, ``Allow`` naming every method a path answers, and an OpenAPI schema that declares
the 400s every JSON body can get and describes SSE answers event by event."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from tests.http.conftest import ADMIN_TOKEN, SimulatedProviders, make_settings
from tests.http.serving import serve

from llm_gateway.app import create_app
from llm_gateway.gateway import build_gateway, set_llm_gateway
from llm_gateway.routes.deps import reset_process_services

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = make_settings(tmp_path_factory.mktemp("surface"))
    gateway = build_gateway(settings, providers=SimulatedProviders())
    try:
        with serve(create_app(settings, gateway=gateway)) as (base, _):
            yield base
    finally:
        set_llm_gateway(None)
        reset_process_services()


def test_a_trailing_slash_is_not_redirected_to_the_host_the_client_named(url: str) -> None:
    answer = httpx.get(
        f"{url}/api/admin/gateway/health/",
        headers={**ADMIN, "Host": "attacker.example"},
        follow_redirects=False,
    )
    assert answer.status_code == 404
    assert "location" not in answer.headers
    assert "attacker.example" not in answer.text
    assert "trailing slash" in answer.json()["error"]["message"]


@pytest.mark.parametrize(
    ("path", "methods"),
    [
        ("/v1/chat/completions", "POST"),
        ("/api/admin/gateway/policies/reload", "POST, PUT, DELETE"),
        ("/api/admin/gateway/policies/writer", "PUT, DELETE"),
        ("/api/admin/gateway/test-selection", "POST"),
        ("/api/admin/gateway/health", "GET"),
    ],
)
def test_405_names_every_method_of_the_path(url: str, path: str, methods: str) -> None:
    answer = httpx.request("OPTIONS", f"{url}{path}", headers=ADMIN)
    assert answer.status_code == 405
    assert answer.headers["allow"] == methods
    assert answer.json()["error"]["type"] == "invalid_request_error"


def test_openapi_declares_the_400_of_every_json_body(url: str) -> None:
    spec = httpx.get(f"{url}/openapi.json").json()
    with_body = [
        (method, path, operation)
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
        if "requestBody" in operation
    ]
    assert len(with_body) >= 6
    for method, path, operation in with_body:
        assert "400" in operation["responses"], f"{method} {path}"
        assert "413" in operation["responses"], f"{method} {path}"
    bad = httpx.put(
        f"{url}/api/admin/gateway/policies/writer",
        content=b"{not json",
        headers={**ADMIN, "Content-Type": "application/json"},
    )
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "invalid_json"


def test_openapi_describes_sse_answers_by_their_events(url: str) -> None:
    paths = httpx.get(f"{url}/openapi.json").json()["paths"]
    openai = paths["/v1/chat/completions"]["post"]["responses"]["200"]["content"]
    node = paths["/api/chat/{node_name}/stream"]["post"]["responses"]["200"]["content"]
    chunk = openai["text/event-stream"]["schema"]["x-sse-events"]["data"]["oneOf"][0]
    assert chunk["properties"]["object"]["const"] == "chat.completion.chunk"
    events = node["text/event-stream"]["schema"]["x-sse-events"]
    assert set(events) == {"start", "token", "tool_call", "done", "error"}
