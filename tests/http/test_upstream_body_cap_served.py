"""An upstream 200 body past GATEWAY_MAX_UPSTREAM_BODY_BYTES: the caller of the served gateway
gets a short 502 that does not relay it, for a plain answer and for a stream whose one event
never ends (uvicorn → create_app → OpenRouter provider over HTTP → a local huge upstream)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.http.conftest import make_settings
from tests.http.huge_upstream import huge_upstream
from tests.http.serving import serve

from llm_gateway.app import create_app

CAP = 1024 * 1024
HUGE = 24 * 1024 * 1024
MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.fixture(params=[False, True], ids=["json", "stream"])
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, bool]]:
    stream: bool = request.param
    with huge_upstream(HUGE, stream=stream) as upstream:
        port = upstream.server_address[1]
        settings = make_settings(
            tmp_path,
            GATEWAY_SIMULATE=False,
            OPENROUTER_API_KEY="sk-or-test-key-123456",
            OPENROUTER_BASE_URL=f"http://127.0.0.1:{port}/api/v1",
            GATEWAY_MAX_UPSTREAM_BODY_BYTES=CAP,
            GATEWAY_FALLBACK_ENABLED=False,
        )
        with serve(create_app(settings)) as (base_url, _server):
            yield base_url, stream


def test_a_body_over_the_cap_is_a_short_502_not_relayed(served: tuple[str, bool]) -> None:
    base_url, stream = served
    body = {"model": "gemini-2.5-pro", "messages": MESSAGES, "stream": stream}
    reply = httpx.post(f"{base_url}/v1/chat/completions", json=body, timeout=60)
    assert reply.status_code == 502, reply.text[:500]
    assert len(reply.content) < 8192
    assert "xxxxxxxx" not in reply.text
    error = reply.json()["error"]
    assert error["type"] == "provider_error"
    assert str(CAP) in error["message"]
