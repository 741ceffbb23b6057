"""OpenRouter's routing fields (``models``, ``provider``, ``plugins``, ``route``, ``preset``)
through the served gateway to the HTTP simulator: stripped by default, so a caller cannot name a
model outside the catalogue; with GATEWAY_ALLOW_PROVIDER_ROUTING_FIELDS=true passed through, but
``models`` entries must be provider model ids of the catalogue."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.http.conftest import make_settings
from tests.http.serving import serve

from llm_gateway.app import create_app
from llm_gateway.simulator.testing import SimulatorHandle

USER = [{"role": "user", "content": "hi"}]
ROUTING: dict[str, Any] = {
    "models": ["openai/gpt-4o", "someone/uncatalogued-model"],
    "provider": {"order": ["Anywhere"], "allow_fallbacks": True},
    "plugins": [{"id": "web"}],
    "route": "fallback",
    "preset": "@preset/anything",
}


@pytest.fixture
def gateway_url(simulator: SimulatorHandle, tmp_path: Path, request: Any) -> Iterator[str]:
    settings = make_settings(
        tmp_path,
        GATEWAY_SIMULATE=False,
        OPENROUTER_API_KEY="sk-or-upstream-key-1234",
        OPENROUTER_BASE_URL=simulator.base_url,
        **getattr(request, "param", {}),
    )
    with serve(create_app(settings)) as (base_url, _server):
        yield base_url


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/chat/completions", {"model": "gemini-2.5-pro", "messages": USER, **ROUTING}),
        ("/api/chat/writer", {"messages": USER, **ROUTING}),
    ],
    ids=["v1", "api-chat"],
)
def test_routing_fields_are_stripped_by_default(
    simulator: SimulatorHandle, gateway_url: str, path: str, body: dict[str, Any]
) -> None:
    reply = httpx.post(gateway_url + path, json=body, timeout=30)
    assert reply.status_code == 200, reply.text[:300]
    (attempt,) = simulator.attempts()
    assert attempt.models is None and attempt.provider is None
    assert attempt.model in {"google/gemini-2.0-flash-exp", "anthropic/claude-3.5-sonnet-20241022"}


ALLOWED = [{"GATEWAY_ALLOW_PROVIDER_ROUTING_FIELDS": True}]


@pytest.mark.parametrize("gateway_url", ALLOWED, indirect=True)
def test_when_allowed_a_model_outside_the_catalogue_is_refused(
    simulator: SimulatorHandle, gateway_url: str
) -> None:
    body = {"model": "gemini-2.5-pro", "messages": USER, **ROUTING}
    reply = httpx.post(f"{gateway_url}/v1/chat/completions", json=body, timeout=30)
    assert reply.status_code == 400
    error = reply.json()["error"]
    assert error["param"] == "models[1]"
    assert "someone/uncatalogued-model" in error["message"]
    assert simulator.attempts() == []


@pytest.mark.parametrize("gateway_url", ALLOWED, indirect=True)
def test_when_allowed_catalogued_routing_fields_pass_through(
    simulator: SimulatorHandle, gateway_url: str
) -> None:
    fields = {"models": ["openai/gpt-4o"], "provider": {"order": ["OpenAI"]}}
    body = {"model": "gemini-2.5-pro", "messages": USER, **fields}
    reply = httpx.post(f"{gateway_url}/v1/chat/completions", json=body, timeout=30)
    assert reply.status_code == 200, reply.text[:300]
    (attempt,) = simulator.attempts()
    assert attempt.models == ["openai/gpt-4o"] and attempt.provider == {"order": ["OpenAI"]}
