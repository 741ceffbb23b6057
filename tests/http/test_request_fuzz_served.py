"""Hypothesis fuzz of the chat request parsers through the served gateway (uvicorn, loopback):
whatever the body (recursive JSON near the OpenAI shape, deep nesting, huge integers, raw bytes),
the answer is never a 5xx. Bounded: ``GATEWAY_FUZZ_EXAMPLES`` examples per test (default 120; set
it higher for a longer run, e.g. ``GATEWAY_FUZZ_EXAMPLES=5000``)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.http.conftest import SimulatedProviders, make_settings
from tests.http.serving import serve

from llm_gateway.app import create_app
from llm_gateway.gateway import build_gateway, set_llm_gateway
from llm_gateway.routes.deps import reset_process_services

EXAMPLES = int(os.environ.get("GATEWAY_FUZZ_EXAMPLES", "120"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
PATHS = ["/v1/chat/completions", "/api/chat/writer", "/api/chat/writer/stream"]

NAMES = st.sampled_from(
    [
        "role",
        "content",
        "type",
        "text",
        "image_url",
        "url",
        "name",
        "tool_calls",
        "tool_call_id",
        "function",
        "arguments",
        "id",
        "parameters",
        "json_schema",
        "schema",
        "strict",
        "properties",
        "items",
        "minItems",
        "enum",
        "include_usage",
        "x",
    ]
)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=2**63, max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.sampled_from(
        [
            "user",
            "assistant",
            "tool",
            "system",
            "function",
            "auto",
            "none",
            "required",
            "text",
            "json_schema",
            "json_object",
            "image_url",
        ]
    )
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(NAMES, inner, max_size=4),
    max_leaves=25,
)
DEEP = st.integers(min_value=60, max_value=3000).map(lambda depth: f"<nested {depth}>")
FIELDS = st.sampled_from(
    [
        "model",
        "messages",
        "tools",
        "tool_choice",
        "response_format",
        "n",
        "max_tokens",
        "max_completion_tokens",
        "temperature",
        "top_p",
        "seed",
        "stop",
        "logit_bias",
        "stream",
        "stream_options",
        "presence_penalty",
        "frequency_penalty",
        "user",
        "models",
        "provider",
        "strategy",
        "trace_id",
        "capabilities",
    ]
)
MESSAGE = st.fixed_dictionaries(
    {"role": JSON, "content": JSON | DEEP}, optional={"tool_calls": JSON, "tool_call_id": JSON}
)
BODIES = st.fixed_dictionaries(
    {"messages": st.lists(MESSAGE, min_size=0, max_size=3) | JSON},
    optional={"model": st.sampled_from(["auto", "gpt-4o", "writer", "nope"]) | JSON},
).flatmap(
    lambda base: st.dictionaries(FIELDS, JSON | DEEP, max_size=4).map(lambda f: {**base, **f})
)


def encode(body: Any) -> bytes:
    """JSON text with any integer (stdlib json) and ``<nested N>`` placeholders as N-deep lists
    (no encoder writes those: each recurses per level)."""
    text = json.dumps(body)
    for depth in range(60, 3001):
        marker = f'"<nested {depth}>"'
        if marker in text:
            text = text.replace(marker, "[" * depth + '"x"' + "]" * depth)
    return text.encode()


@pytest.fixture(scope="module")
def http(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    app_settings = make_settings(tmp_path_factory.mktemp("fuzz"))
    gateway = build_gateway(app_settings, providers=SimulatedProviders())
    try:
        with (
            serve(create_app(app_settings, gateway=gateway)) as (base_url, _server),
            httpx.Client(base_url=base_url, timeout=30) as client,
        ):
            yield client
    finally:
        set_llm_gateway(None)
        reset_process_services()


@FUZZ
@given(body=BODIES, path=st.sampled_from(PATHS))
def test_no_json_body_gets_a_5xx(http: httpx.Client, body: dict[str, Any], path: str) -> None:
    reply = http.post(path, content=encode(body), headers={"content-type": "application/json"})
    assert reply.status_code < 500, (reply.status_code, reply.text[:500])
    if reply.status_code >= 400:
        assert "error" in reply.json()


@FUZZ
@given(raw=st.binary(max_size=64) | JSON.map(encode), path=st.sampled_from(PATHS))
def test_no_raw_body_gets_a_5xx(http: httpx.Client, raw: bytes, path: str) -> None:
    reply = http.post(path, content=raw, headers={"content-type": "application/json"})
    assert reply.status_code < 500, (reply.status_code, reply.text[:500])
