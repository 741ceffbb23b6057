"""Malformed chat bodies get a 400 from the simulator, as from OpenAI or OpenRouter, and never
crash it: over real HTTP for the shapes that used to (a ``tool_choice`` naming no function, odd
tool schemas), and a hypothesis fuzz of the engine with JSON-shaped bodies."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llm_gateway.simulator.engine import RequestInvalid, parse_request, plan_answer
from llm_gateway.simulator.scenario import Scenario
from llm_gateway.simulator.testing import SimulatorHandle

USER = [{"role": "user", "content": "hi"}]
TOOL = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
EXAMPLES = int(os.environ.get("GATEWAY_FUZZ_EXAMPLES", "150"))

MALFORMED: list[tuple[dict[str, Any], str]] = [
    ({"tools": [TOOL], "tool_choice": {"type": "function", "function": "f"}}, "tool_choice"),
    ({"tools": [TOOL], "tool_choice": {"type": "function"}}, "tool_choice"),
    ({"tools": [TOOL], "tool_choice": "banana"}, "tool_choice"),
    ({"tools": [TOOL], "tool_choice": {"type": "function", "function": {"name": "g"}}}, "'g'"),
    ({"tools": ["f"]}, "tools[0]"),
    ({"tools": [{"type": "function", "function": "f"}]}, "tools[0].function"),
    ({"response_format": {"type": "json_schema", "json_schema": "x"}}, "json_schema"),
    ({"response_format": "json"}, "response_format"),
    ({"messages": [{"role": {"a": 1}, "content": "x"}]}, "messages[0].role"),
    ({"n": 0}, "n"),
]


@pytest.fixture
def http(simulator: SimulatorHandle) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=simulator.base_url, timeout=5) as client:
        yield client


@pytest.mark.parametrize(("extra", "named"), MALFORMED)
def test_malformed_body_is_a_400_naming_the_field(
    http: httpx.Client, extra: dict[str, Any], named: str
) -> None:
    body = {"model": "openai/gpt-4o", "messages": USER, **extra}
    reply = http.post("/chat/completions", json=body)
    assert reply.status_code == 400, reply.text
    assert named in reply.json()["error"]["message"]
    # The server is still answering, and well-formed bodies still work.
    ok = http.post("/chat/completions", json={"model": "openai/gpt-4o", "messages": USER})
    assert ok.status_code == 200


def test_unreasonable_tool_schemas_still_get_a_tool_call(http: httpx.Client) -> None:
    odd = {
        "type": "object",
        "properties": {
            "a": {"type": "integer", "minimum": 9, "maximum": 1},
            "b": {"type": "string", "minLength": 10**12},
            "c": {"type": "array", "minItems": "x"},
            "d": {"type": ["null", {"x": 1}]},
            "e": {"enum": "abc"},
            "f": {"properties": [1]},
        },
    }
    tool = {"type": "function", "function": {"name": "odd", "parameters": odd}}
    body = {"model": "openai/gpt-4o", "messages": USER, "tools": [tool], "tool_choice": "required"}
    reply = http.post("/chat/completions", json=body)
    assert reply.status_code == 200, reply.text
    assert reply.json()["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == "odd"


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=20,
)
KEYS = st.sampled_from(
    [
        "type",
        "function",
        "name",
        "parameters",
        "properties",
        "items",
        "minItems",
        "maxItems",
        "minimum",
        "maximum",
        "enum",
        "json_schema",
        "schema",
        "content",
        "role",
        "text",
        "tool_calls",
        "tool_call_id",
        "image_url",
        "url",
        "arguments",
        "id",
        "anyOf",
        "$ref",
        "minLength",
    ]
)
SHAPED = st.recursive(
    JSON,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=5),
    max_leaves=30,
)
FIELDS = st.sampled_from(
    [
        "messages",
        "tools",
        "tool_choice",
        "response_format",
        "n",
        "max_tokens",
        "stop",
        "logit_bias",
        "temperature",
        "seed",
        "stream_options",
    ]
)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fields=st.dictionaries(FIELDS, SHAPED, max_size=5), role=st.sampled_from(["user", "tool"]))
def test_engine_answers_or_refuses_any_body(fields: dict[str, Any], role: str) -> None:
    body: dict[str, Any] = {"model": "m", "messages": [{"role": role, "content": "x"}], **fields}
    try:
        request = parse_request(body)
    except RequestInvalid:
        return
    scenario = Scenario.for_tests()
    plan_answer(request, scenario.profile("m"), scenario.answer)
