"""Malformed chat bodies through the served gateway (uvicorn, loopback): a 4xx naming the exact
field on both entry points (``/v1/chat/completions`` and ``/api/chat/{node}``), no upstream
attempt and no harm to any model's health; a request-shaped 4xx from the upstream is surfaced
with its status, without fallback or a mark against the model; error messages never echo more
than ~200 characters of the caller's input."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from tests.http.conftest import AUTH, make_settings
from tests.http.serving import serve

from llm_gateway.app import create_app
from llm_gateway.simulator.testing import SimulatorHandle

USER = {"role": "user", "content": "hi"}
TOOL = {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}


def nested(depth: int) -> str:
    """A placeholder :func:`encode` replaces by lists nested ``depth`` deep (no JSON encoder
    writes them: each recurses per level)."""
    return f"<nested {depth}>"


def encode(body: dict[str, Any]) -> bytes:
    """The body as JSON text; integers of any size (stdlib json) and nested placeholders."""
    text = json.dumps(body)
    for depth in {int(m) for m in re.findall(r'"<nested (\d+)>"', text)}:
        text = text.replace(f'"<nested {depth}>"', "[" * depth + '"x"' + "]" * depth)
    return text.encode()


# (fields merged into a valid body, the param the 400 must name)
MALFORMED: list[tuple[dict[str, Any], str]] = [
    ({"messages": [{"role": {"a": 1}, "content": "x"}]}, "messages[0].role"),
    ({"messages": [{"role": ["user"], "content": "x"}]}, "messages[0].role"),
    ({"messages": [USER, {"role": "user"}]}, "messages[1].content"),
    ({"messages": [{"role": "user", "content": 5}]}, "messages[0].content"),
    (
        {"messages": [USER, USER, {"role": "user", "content": [{"type": "sound"}]}]},
        "messages[2].content[0].type",
    ),
    (
        {"messages": [{"role": "user", "content": [{"type": "text", "text": 1}]}]},
        "messages[0].content[0].text",
    ),
    (
        {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": "u"}]}]},
        "messages[0].content[0].image_url",
    ),
    ({"messages": [USER, {"role": "tool", "content": "42"}]}, "messages[1].tool_call_id"),
    (
        {"messages": [USER, {"role": "assistant", "tool_calls": [{"id": "c", "function": "f"}]}]},
        "messages[1].tool_calls[0].function",
    ),
    ({"messages": [{"role": "user", "content": nested(970)}]}, "messages[0].content"),
    ({"tools": nested(970)}, "tools"),
    ({"tools": {"a": 1}}, "tools"),
    (
        {"tools": [{"type": "function", "function": {"name": "bad name!"}}]},
        "tools[0].function.name",
    ),
    (
        {"tools": [{"type": "function", "function": {"name": "f", "parameters": []}}]},
        "tools[0].function.parameters",
    ),
    (
        {"tools": [TOOL], "tool_choice": {"type": "function", "function": "lookup"}},
        "tool_choice.function",
    ),
    (
        {"tools": [TOOL], "tool_choice": {"type": "function", "function": {"name": "other"}}},
        "tool_choice.function.name",
    ),
    ({"tool_choice": "required"}, "tool_choice"),
    ({"tools": [TOOL], "tool_choice": "sometimes"}, "tool_choice"),
    ({"response_format": {"type": "xml"}}, "response_format.type"),
    ({"response_format": {"type": "json_schema"}}, "response_format.json_schema"),
    (
        {"response_format": {"type": "json_schema", "json_schema": {"schema": {}}}},
        "response_format.json_schema.name",
    ),
    ({"n": 0}, "n"),
    ({"n": 129}, "n"),
    ({"max_tokens": 2**70}, "max_tokens"),
    ({"max_completion_tokens": -1}, "max_completion_tokens"),
    ({"seed": 2**64}, "seed"),
    ({"top_p": 1.5}, "top_p"),
    ({"presence_penalty": -3}, "presence_penalty"),
    ({"frequency_penalty": "high"}, "frequency_penalty"),
    ({"temperature": 2**70}, "temperature"),
    ({"stop": ["a", "b", "c", "d", "e"]}, "stop"),
    ({"stop": [1]}, "stop[0]"),
    ({"logit_bias": {"abc": 1}}, "logit_bias"),
    ({"logit_bias": {"50256": 101}}, "logit_bias.50256"),
    ({"stream_options": {"include_usage": "yes"}}, "stream_options.include_usage"),
]
IDS = [param for _, param in MALFORMED]


@pytest.fixture(scope="module")
def served_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app on the in-process simulator, served by uvicorn (one for the module: only
    refusals and cheap answers are asked of it)."""
    settings = make_settings(tmp_path_factory.mktemp("validation"))
    with serve(create_app(settings)) as (base_url, _server):
        yield base_url


@pytest.fixture(scope="module")
def http(served_gateway: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served_gateway, timeout=30) as client:
        yield client


def post(http: httpx.Client, path: str, body: dict[str, Any]) -> httpx.Response:
    return http.post(path, content=encode(body), headers={"content-type": "application/json"})


@pytest.mark.parametrize(("fields", "param"), MALFORMED, ids=IDS)
def test_openai_endpoint_names_the_field(
    http: httpx.Client, fields: dict[str, Any], param: str
) -> None:
    reply = post(http, "/v1/chat/completions", {"model": "auto", "messages": [USER], **fields})
    assert reply.status_code == 400, reply.text[:300]
    error = reply.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param
    assert len(reply.content) < 2048


@pytest.mark.parametrize(("fields", "param"), MALFORMED, ids=IDS)
def test_node_chat_endpoint_refuses_the_same_bodies(
    http: httpx.Client, fields: dict[str, Any], param: str
) -> None:
    """The /api/chat body is typed by pydantic first (a 422 for its own fields, such as a
    message's role), then checked by the same validator as /v1/chat/completions."""
    reply = post(http, "/api/chat/writer", {"messages": [USER], **fields})
    assert reply.status_code in (400, 422), reply.text[:300]
    assert reply.json()["error"]["param"].startswith(param.split(".")[0].split("[")[0])


@pytest.mark.parametrize("raw", ["NaN", "Infinity", "1e309", "-1e309", str(2**70)])
def test_node_chat_refuses_numbers_json_loads_accepts(http: httpx.Client, raw: str) -> None:
    body = b'{"messages": [{"role": "user", "content": "hi"}], "temperature": %s}' % raw.encode()
    reply = http.post(
        "/api/chat/writer", content=body, headers={"content-type": "application/json"}
    )
    assert reply.status_code == 400, reply.text[:300]
    # Not JSON numbers at all (orjson refuses them, as for /v1), or out of range.
    assert reply.json()["error"]["param"] in ("body", "temperature")


def test_node_chat_checks_max_tokens_itself(http: httpx.Client) -> None:
    reply = post(http, "/api/chat/writer", {"messages": [USER], "max_tokens": 0})
    assert reply.status_code == 400
    assert reply.json()["error"]["param"] == "max_tokens"
    assert "simulated" not in reply.text  # refused by the gateway, not by an upstream


def test_well_formed_requests_still_pass(http: httpx.Client) -> None:
    body = {
        "model": "auto",
        "messages": [
            {"role": "system", "content": [{"type": "text", "text": "be brief"}]},
            USER,
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "c1",
                        "type": "function",
                        "function": {"name": "lookup", "arguments": "{}"},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "42"},
        ],
        "tools": [TOOL],
        "tool_choice": {"type": "function", "function": {"name": "lookup"}},
        "n": 1,
        "stop": ["\n\n"],
        "seed": -(2**63),
        "logit_bias": {"50256": -100},
        "temperature": 0,
        "top_p": 1,
        "response_format": {"type": "json_schema", "json_schema": {"name": "a", "schema": {}}},
    }
    assert post(http, "/v1/chat/completions", body).status_code == 200
    chat_body = {k: v for k, v in body.items() if k != "model"}
    assert post(http, "/api/chat/writer", chat_body).status_code == 200


@pytest.mark.parametrize(
    ("path", "headers", "body"),
    [
        ("/v1/chat/completions", {}, {"model": "m" * 100_000, "messages": [USER]}),
        ("/v1/chat/completions", {"x-gateway-strategy": "s" * 100_000}, {"messages": [USER]}),
        ("/api/admin/gateway/traces/" + "t" * 50_000, AUTH, None),
        ("/api/admin/gateway/recommendations/" + "n" * 50_000, AUTH, None),
        (
            "/api/admin/gateway/test-selection",
            AUTH,
            {
                "node_name": "n" * 100_000,
                "capabilities": ["vision", "reasoning"],
                "min_context_window": 10**9,
            },
        ),
        ("/api/admin/gateway/policies/bulk", AUTH, {"updates": {"n" * 100_000: "m" * 100_000}}),
        ("/api/admin/gateway/policies/bulk", AUTH, {"updates": {"k" * 100_000: 5}}),
        (
            "/v1/chat/completions",
            {},
            {
                "messages": [USER],
                "tools": [TOOL],
                "tool_choice": {"type": "function", "function": {"name": "z" * 100_000}},
            },
        ),
    ],
    ids=[
        "model",
        "strategy",
        "trace",
        "node",
        "test-selection",
        "bulk",
        "bulk-type",
        "tool_choice",
    ],
)
def test_errors_echo_at_most_a_bounded_prefix_of_the_input(
    http: httpx.Client, path: str, headers: dict[str, str], body: dict[str, Any] | None
) -> None:
    if body is None:
        reply = http.get(path, headers=headers)
    elif path.endswith("/bulk"):
        reply = http.put(path, content=orjson.dumps(body), headers=headers)
    else:
        reply = http.post(path, content=orjson.dumps(body), headers=headers)
    assert 400 <= reply.status_code < 500, reply.text[:300]
    assert len(reply.content) < 4096, reply.text[:300]


# ---------------------------------------------------------------- against the HTTP simulator

PRIMARY = "google/gemini-2.0-flash-exp"  # gemini-2.5-pro's provider model id


@pytest.fixture
def gateway_url(simulator: SimulatorHandle, tmp_path: Path) -> Iterator[str]:
    settings = make_settings(
        tmp_path,
        GATEWAY_SIMULATE=False,
        OPENROUTER_API_KEY="sk-or-upstream-key-1234",
        OPENROUTER_BASE_URL=simulator.base_url,
        GATEWAY_CIRCUIT_FAILURE_THRESHOLD=1,
    )
    with serve(create_app(settings)) as (base_url, _server):
        yield base_url


def model_state(url: str, model: str) -> dict[str, Any]:
    health = httpx.get(f"{url}/api/admin/gateway/health", headers=AUTH, timeout=5).json()
    state: dict[str, Any] = health["models"][model]
    return state


def test_malformed_tool_choice_never_reaches_an_upstream(
    simulator: SimulatorHandle, gateway_url: str
) -> None:
    body = {
        "model": "gemini-2.5-pro",
        "messages": [USER],
        "tools": [TOOL],
        "tool_choice": {"type": "function", "function": "lookup"},
    }
    for _ in range(3):
        reply = httpx.post(f"{gateway_url}/v1/chat/completions", json=body, timeout=30)
        assert reply.status_code == 400
    assert simulator.attempts() == []
    assert model_state(gateway_url, "gemini-2.5-pro")["consecutive_failures"] == 0


@pytest.mark.parametrize("status", [400, 413, 422])
def test_request_shaped_upstream_4xx_is_surfaced_without_fallback(
    simulator: SimulatorHandle, gateway_url: str, status: int
) -> None:
    fault = {"kind": "error", "status": status, "message": "Invalid schema for function 'x'"}
    simulator.set_scenario({"zero_latency": True, "models": {PRIMARY: {"faults": [fault]}}})
    body = {"model": "gemini-2.5-pro", "messages": [USER]}
    for _ in range(2):
        reply = httpx.post(f"{gateway_url}/v1/chat/completions", json=body, timeout=30)
        assert reply.status_code == status, reply.text[:300]
        assert reply.json()["error"]["upstream_status"] == status
    assert [a.model for a in simulator.attempts()] == [PRIMARY, PRIMARY]  # no fallback
    state = model_state(gateway_url, "gemini-2.5-pro")
    assert state["consecutive_failures"] == 0 and state["circuit"] == "closed"


def test_a_model_the_upstream_does_not_serve_falls_back(
    simulator: SimulatorHandle, gateway_url: str
) -> None:
    fault = {"kind": "error", "status": 404, "message": f"No endpoints found for {PRIMARY}."}
    simulator.set_scenario({"zero_latency": True, "models": {PRIMARY: {"faults": [fault]}}})
    body = {"model": "gemini-2.5-pro", "messages": [USER]}
    reply = httpx.post(f"{gateway_url}/v1/chat/completions", json=body, timeout=30)
    assert reply.status_code == 200, reply.text[:300]
    assert simulator.attempts()[0].model == PRIMARY
    assert len(simulator.attempts()) == 2
