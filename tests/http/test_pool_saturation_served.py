"""A provider's connection pool full: the caller who waited too long for a connection is told so.

uvicorn on 127.0.0.1 serves the gateway; its one model's provider allows a single connection to
the benchmark's mock upstream (a separate process that answers after 1.5 s). A JSON request
holds that connection; a stream asked meanwhile waits for it past its headers deadline.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from tests.http.conftest import make_settings
from tests.http.serving import serve
from tests.http.upstream import mock_upstream

from llm_gateway.app import create_app

HEADERS_DELAY_MS = 1500
POLICIES = """\
providers:
  mock:
    kind: openai_compatible
    base_url: http://127.0.0.1:{port}/api/v1
    api_key_env: BENCH_UPSTREAM_KEY
    max_connections: 1
policies:
  only:
    provider: mock
    provider_model_id: bench-model
    capabilities: {{streaming: true}}
    cost_tier: LOW
    context_window: 128000
    input_cost_per_1k: 0.0001
    output_cost_per_1k: 0.0002
"""
NODES = "nodes:\n  default:\n    required_capabilities: []\n    max_cost_tier: HIGH\n"


@pytest.fixture
def mock_port() -> Iterator[int]:
    with mock_upstream("--headers-delay-ms", str(HEADERS_DELAY_MS)) as port:
        yield port


@pytest.fixture
def gateway_url(
    mock_port: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, FastAPI]]:
    config = tmp_path / "config"
    config.mkdir()
    (config / "model_policies.yaml").write_text(POLICIES.format(port=mock_port))
    (config / "node_requirements.yaml").write_text(NODES)
    monkeypatch.setenv("BENCH_UPSTREAM_KEY", "sk-upstream")
    settings = make_settings(
        tmp_path,
        GATEWAY_SIMULATE=False,
        GATEWAY_CONFIG_DIR=config,
        GATEWAY_HEADERS_TIMEOUT=0.5,
        GATEWAY_MAX_RETRIES=0,
    )
    app = create_app(settings)
    with serve(app) as (url, _server):
        yield url, app


def test_a_stream_waiting_for_a_full_pool_says_the_pool_was_full(
    gateway_url: tuple[str, FastAPI],
) -> None:
    url, app = gateway_url
    messages = [{"role": "user", "content": "hi"}]
    held: list[httpx.Response] = []
    holder = threading.Thread(
        target=lambda: held.append(
            httpx.post(
                f"{url}/v1/chat/completions",
                json={"model": "only", "messages": messages},
                timeout=30,
            )
        )
    )
    holder.start()
    try:
        _wait_until_the_pool_is_taken(app)
        waiting = httpx.post(
            f"{url}/v1/chat/completions",
            json={"model": "only", "messages": messages, "stream": True},
            timeout=30,
        )
    finally:
        holder.join(timeout=30)

    assert waiting.status_code == 504
    message = waiting.json()["error"]["message"]
    assert "no response headers within 0.5 s" in message
    assert "all 1 connections to the provider were busy" in message
    assert held[0].status_code == 200  # the request holding the connection was not disturbed


def _wait_until_the_pool_is_taken(app: FastAPI) -> None:
    """Until the provider reports its one connection open (bounded)."""
    for _ in range(500):
        provider = app.state.llm_gateway.providers.instantiated().get("mock")
        if provider is not None and asyncio.run(provider.health()).open_connections:
            return
        time.sleep(0.01)
    raise AssertionError("the first request never took the provider's connection")
