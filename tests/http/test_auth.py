"""Client API keys on the chat and /v1 endpoints, and the admin token rules."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from tests.http.conftest import make_settings

from llm_gateway.app import create_app
from llm_gateway.auth import AdminAuth, ClientKeys, bearer_token
from llm_gateway.errors import AuthenticationFailed, ConfigError, PermissionDenied
from llm_gateway.gateway import LLMGateway

HELLO = [{"role": "user", "content": "Hello"}]
KEY = "sk-team-a-0123456789"


@pytest.fixture
async def keyed_client(tmp_path: Path, gateway: LLMGateway) -> AsyncIterator[httpx.AsyncClient]:
    keys_file = tmp_path / "keys.txt"
    keys_file.write_text("# one key per line\nteam-b:sk-team-b-9876543210\n\n")
    settings = make_settings(
        tmp_path, GATEWAY_API_KEYS=f"team-a:{KEY}", GATEWAY_API_KEYS_FILE=keys_file
    )
    app = create_app(settings, gateway=gateway)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
            yield client


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/v1/chat/completions", {"messages": HELLO}),
        ("GET", "/v1/models", None),
        ("POST", "/api/chat/writer", {"messages": HELLO}),
        ("POST", "/api/chat/writer/stream", {"messages": HELLO}),
        ("GET", "/api/chat/nodes", None),
    ],
)
async def test_configured_keys_are_required(
    keyed_client: httpx.AsyncClient, method: str, path: str, body: object
) -> None:
    missing = await keyed_client.request(method, path, json=body)
    wrong = await keyed_client.request(
        method, path, json=body, headers={"Authorization": "Bearer sk-wrong-0000000"}
    )
    right = await keyed_client.request(
        method, path, json=body, headers={"Authorization": f"Bearer {KEY}"}
    )

    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "missing_api_key"
    assert wrong.status_code == 401
    assert wrong.json()["error"]["code"] == "invalid_api_key"
    assert right.status_code == 200


async def test_key_from_the_file_identifies_the_caller_in_the_trace(
    keyed_client: httpx.AsyncClient, gateway: LLMGateway
) -> None:
    response = await keyed_client.post(
        "/v1/chat/completions",
        json={"messages": HELLO, "user": "u-7"},
        headers={"Authorization": "Bearer sk-team-b-9876543210"},
    )

    trace = gateway.tracer.get_trace(response.headers["x-trace-id"])
    assert trace is not None
    assert trace["api_key_id"] == "team-b"
    assert trace["user_id"] == "u-7"


async def test_without_configured_keys_anyone_may_call(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/chat/completions",
        json={"messages": HELLO},
        headers={"Authorization": "Bearer whatever"},
    )

    assert response.status_code == 200


async def test_health_probes_need_no_key(keyed_client: httpx.AsyncClient) -> None:
    assert (await keyed_client.get("/healthz")).status_code == 200
    assert (await keyed_client.get("/readyz")).status_code == 200


def test_bearer_token_parsing() -> None:
    assert bearer_token("Bearer abc") == "abc"
    assert bearer_token("bearer  abc ") == "abc"
    assert bearer_token("Basic abc") is None
    assert bearer_token("Bearer") is None
    assert bearer_token(None) is None


def test_admin_auth_missing_is_401_wrong_is_403() -> None:
    auth = AdminAuth("secret-token-123")
    auth.check("Bearer secret-token-123")
    with pytest.raises(AuthenticationFailed):
        auth.check(None)
    with pytest.raises(PermissionDenied):
        auth.check("Bearer secret-token-124")


def test_generated_admin_token_is_random_and_marked(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, GATEWAY_ADMIN_TOKEN=None)
    first, second = AdminAuth.from_settings(settings), AdminAuth.from_settings(settings)

    assert first.generated and first.token != second.token
    assert len(first.token) > 30


def test_key_entries_without_a_name_get_a_digest_name() -> None:
    keys = ClientKeys({"sk-plain-key-123": "key-x"})
    assert keys.identify("Bearer sk-plain-key-123") == "key-x"


def test_too_short_key_is_a_config_error_that_does_not_echo_the_key(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, GATEWAY_API_KEYS="ok-name:abc")

    with pytest.raises(ConfigError) as caught:
        ClientKeys.from_settings(settings)

    assert "abc" not in str(caught.value)
    assert "GATEWAY_API_KEYS" in str(caught.value)


def test_unreadable_keys_file_is_a_config_error(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, GATEWAY_API_KEYS_FILE=tmp_path / "missing.txt")

    with pytest.raises(ConfigError):
        ClientKeys.from_settings(settings)
