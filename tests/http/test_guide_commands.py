"""The migration guide's curl commands ("2.2 Test Migration", "Admin Operations Guide") replayed
as HTTP requests against the served app, each with the admin bearer token added."""

from __future__ import annotations

import httpx
import pytest
from tests.http.conftest import AUTH
from tests.http.guide_commands import (
    ADMIN_OPERATIONS,
    TEST_MIGRATION,
    find_guide,
    guide_curl_commands,
    parse_curl,
)


def test_the_copied_commands_are_the_guides() -> None:
    guide = find_guide()
    if guide is None:
        pytest.skip("the migration guide is not beside the repository")
    text = guide.read_text(encoding="utf-8")

    assert guide_curl_commands(text, "#### 2.2 Test Migration") == TEST_MIGRATION
    assert guide_curl_commands(text, "## Admin Operations Guide") == ADMIN_OPERATIONS


def replay(client: httpx.Client, command: str, **substitutions: str) -> httpx.Response:
    request = parse_curl(command)
    path = request.path.format(**substitutions) if substitutions else request.path
    return client.request(
        request.method, path, headers={**request.headers, **AUTH}, content=request.body
    )


def test_every_command_works_as_written_with_the_auth_header(served: str) -> None:
    with httpx.Client(base_url=served, timeout=10) as client:
        answer = client.post(
            "/v1/chat/completions",
            json={"model": "writer", "messages": [{"role": "user", "content": "Hi"}]},
        )
        trace_id = answer.headers["x-trace-id"]

        outcomes = {}
        for command in TEST_MIGRATION + ADMIN_OPERATIONS:
            response = replay(client, command, trace_id=trace_id)
            outcomes[parse_curl(command).method + " " + parse_curl(command).path] = response
            assert response.status_code == 200, (command, response.text)
            assert response.headers["content-type"].startswith("application/json")
            assert isinstance(response.json(), dict)
        policies = client.get("/api/admin/gateway/policies", headers=AUTH).json()

    selection = outcomes["POST /api/admin/gateway/test-selection"].json()
    assert selection["node_name"] == "formatter"
    assert selection["chain"][0] == selection["selected_model"]
    assert outcomes["GET /api/admin/gateway/health"].json()["overall_status"] == "healthy"
    assert outcomes["GET /api/admin/gateway/traces?hours=1"].json()["count"] == 1
    put = outcomes["PUT /api/admin/gateway/policies/writer"].json()
    assert put["after"]["model_id"] == "claude-sonnet"
    assert outcomes["GET /api/admin/gateway/traces/{trace_id}"].json()["trace_id"] == trace_id
    assert outcomes["GET /api/admin/gateway/validate"].json()["valid"] is True
    # the bulk update came after the single override and wins
    assert policies["effective"]["writer"] == "gemini-2.5-pro"
    assert policies["effective"]["evaluator"] == "claude-sonnet"


@pytest.mark.parametrize("command", TEST_MIGRATION + ADMIN_OPERATIONS)
def test_every_command_without_the_token_is_refused(served: str, command: str) -> None:
    request = parse_curl(command)
    with httpx.Client(base_url=served, timeout=10) as client:
        response = client.request(
            request.method,
            request.path.format(trace_id="x"),
            headers=request.headers,
            content=request.body,
        )

    assert response.status_code == 401
    assert response.json()["error"]["type"] == "authentication_error"
