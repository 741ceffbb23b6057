"""POST /v1/chat/completions and GET /v1/models, in process (the app's lifespan runs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from tests.http.conftest import SimulatedProviders, make_settings

from llm_gateway.app import create_app
from llm_gateway.gateway import LLMGateway, build_gateway

HELLO = [{"role": "user", "content": "Hello there"}]


def sse_data(text: str) -> list[Any]:
    """The ``data:`` payloads of an SSE body, JSON-decoded except ``[DONE]``."""
    out: list[Any] = []
    for block in text.split("\n\n"):
        for line in block.splitlines():
            if line.startswith("data: "):
                payload = line[len("data: ") :]
                out.append(payload if payload == "[DONE]" else orjson.loads(payload))
    return out


async def test_completion_names_the_model_and_the_overhead(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/chat/completions", json={"model": "auto", "messages": HELLO})

    assert response.status_code == 200
    body = response.json()
    assert body["object"] == "chat.completion"
    assert body["choices"][0]["message"]["content"]
    assert response.headers["x-gateway-model"] == body["model"]
    assert float(response.headers["x-gateway-overhead-ms"]) >= 0
    assert body["usage"]["total_tokens"] > 0
    assert float(response.headers["x-gateway-cost-usd"]) > 0


async def test_logical_model_id_is_served_by_that_model(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/chat/completions", json={"model": "claude-sonnet", "messages": HELLO}
    )

    assert response.status_code == 200
    assert response.json()["model"] == "claude-sonnet"


async def test_provider_model_id_is_served_by_its_logical_model(
    client: httpx.AsyncClient, gateway: LLMGateway
) -> None:
    provider_id = gateway.registry.get_policy("claude-sonnet").provider_model_id
    assert "/" in provider_id  # an OpenRouter slug, as code written for OpenRouter sends it
    response = await client.post(
        "/v1/chat/completions", json={"model": provider_id, "messages": HELLO}
    )

    assert response.status_code == 200
    assert response.json()["model"] == "claude-sonnet"
    assert response.headers["x-gateway-model"] == "claude-sonnet"


async def test_node_name_as_model_uses_the_node_requirements(
    client: httpx.AsyncClient, gateway: LLMGateway
) -> None:
    body = {"model": "evaluator", "messages": HELLO}
    response = await client.post("/v1/chat/completions", json=body)

    policy = gateway.registry.get_policy(response.json()["model"])
    assert "reasoning" in policy.capabilities  # the evaluator node requires reasoning


async def test_node_header_and_strategy_header_drive_selection(
    client: httpx.AsyncClient, gateway: LLMGateway
) -> None:
    headers = {"X-Gateway-Node": "writer", "X-Gateway-Strategy": "cost_optimized"}
    response = await client.post(
        "/v1/chat/completions", json={"model": "auto", "messages": HELLO}, headers=headers
    )

    trace = gateway.tracer.get_trace(response.headers["x-trace-id"])
    assert trace is not None
    assert trace["node_name"] == "writer"
    assert trace["strategy"] == "cost_optimized"
    assert trace["model"] == response.json()["model"]


async def test_callers_trace_id_is_used_and_returned(
    client: httpx.AsyncClient, gateway: LLMGateway
) -> None:
    response = await client.post(
        "/v1/chat/completions",
        json={"messages": HELLO},
        headers={"X-Trace-Id": "my-trace-42"},
    )

    assert response.headers["x-trace-id"] == "my-trace-42"
    assert gateway.tracer.get_trace("my-trace-42") is not None


async def test_unknown_fields_pass_through_to_the_provider(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/chat/completions",
        json={
            "model": "gpt-4o",
            "messages": HELLO,
            "response_format": {"type": "json_object"},
            "seed": 7,
            "some_vendor_extension": {"x": 1},
        },
    )

    assert response.status_code == 200
    content = response.json()["choices"][0]["message"]["content"]
    assert isinstance(orjson.loads(content), dict)  # response_format reached the simulator


async def test_tool_call_is_returned(client: httpx.AsyncClient) -> None:
    tools = [
        {
            "type": "function",
            "function": {
                "name": "lookup",
                "parameters": {"type": "object", "properties": {"q": {"type": "string"}}},
            },
        }
    ]
    response = await client.post(
        "/v1/chat/completions", json={"model": "auto", "messages": HELLO, "tools": tools}
    )

    choice = response.json()["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["tool_calls"][0]["function"]["name"] == "lookup"


async def test_stream_sends_chunks_usage_and_done(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/chat/completions",
        json={
            "model": "writer",
            "messages": HELLO,
            "stream": True,
            "stream_options": {"include_usage": True},
        },
    )

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = sse_data(response.text)
    assert events[-1] == "[DONE]"
    chunks = events[:-1]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert {c["model"] for c in chunks} == {response.headers["x-gateway-model"]}
    text = "".join((c["choices"][0]["delta"].get("content") or "") for c in chunks if c["choices"])
    assert text
    assert chunks[-1]["usage"]["completion_tokens"] > 0
    assert ": x-gateway model=" in response.text


async def test_stream_without_include_usage_has_no_usage_chunk(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/chat/completions", json={"model": "writer", "messages": HELLO, "stream": True}
    )

    chunks = sse_data(response.text)[:-1]
    assert all(not c.get("usage") for c in chunks)


@pytest.mark.parametrize(
    ("payload", "param"),
    [
        ({"model": "auto"}, "messages"),
        ({"messages": []}, "messages"),
        ({"messages": ["hi"]}, "messages[0]"),
        ({"messages": [{"role": "robot", "content": "x"}]}, "messages[0].role"),
        ({"messages": HELLO, "model": 3}, "model"),
        ({"messages": HELLO, "stream": "yes"}, "stream"),
        (
            {"messages": HELLO, "stream_options": {"include_usage": 1}},
            "stream_options.include_usage",
        ),
        ({"messages": HELLO, "max_tokens": 0}, "max_tokens"),
        ({"messages": HELLO, "temperature": "hot"}, "temperature"),
        ({"messages": HELLO, "tools": {}}, "tools"),
    ],
)
async def test_invalid_request_is_400_naming_the_field(
    client: httpx.AsyncClient, payload: dict[str, Any], param: str
) -> None:
    response = await client.post("/v1/chat/completions", json=payload)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param


@pytest.mark.parametrize("raw", [b"", b"{not json", b"[1, 2]"])
async def test_body_that_is_not_a_json_object_is_400(client: httpx.AsyncClient, raw: bytes) -> None:
    response = await client.post(
        "/v1/chat/completions", content=raw, headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 400
    assert response.json()["error"]["param"] == "body"


async def test_unknown_model_is_404_on_param_model(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/chat/completions", json={"model": "gpt-9", "messages": HELLO})

    assert response.status_code == 404
    assert response.json()["error"]["param"] == "model"
    assert "provider model id" in response.json()["error"]["message"]


async def test_unknown_strategy_header_is_400(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/chat/completions",
        json={"messages": HELLO},
        headers={"X-Gateway-Strategy": "cheapest-please"},
    )

    assert response.status_code == 400
    assert response.json()["error"]["param"] == "strategy"


async def test_model_that_cannot_serve_the_node_is_422(client: httpx.AsyncClient) -> None:
    # The evaluator requires reasoning; gpt-4o-mini has none.
    response = await client.post(
        "/v1/chat/completions",
        json={"model": "gpt-4o-mini", "messages": HELLO},
        headers={"X-Gateway-Node": "evaluator"},
    )

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "no_eligible_model"


async def test_models_lists_models_auto_and_nodes(
    client: httpx.AsyncClient, gateway: LLMGateway
) -> None:
    response = await client.get("/v1/models")

    cards = {card["id"]: card for card in response.json()["data"]}
    assert set(gateway.registry.get_all_policies()) <= set(cards)
    assert cards["auto"]["kind"] == "router"
    assert cards["writer"]["kind"] == "node"
    assert cards["claude-sonnet"]["context_window"] == 200000
    assert "search_*" not in cards  # patterns are not model ids


async def test_every_model_failing_is_503_naming_each_attempt(tmp_path: Path) -> None:
    down = {"models": {"*": {"faults": [{"kind": "error", "status": 503}]}}}
    settings = make_settings(tmp_path, GATEWAY_MAX_RETRIES=0)
    gateway = build_gateway(settings, providers=SimulatedProviders(down))
    app = create_app(settings, gateway=gateway)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
            plain = await client.post("/v1/chat/completions", json={"messages": HELLO})
            stream = await client.post(
                "/v1/chat/completions", json={"messages": HELLO, "stream": True}
            )

    for response in (plain, stream):
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/json"
        error = response.json()["error"]
        assert error["code"] == "all_models_failed"
        assert len(error["attempts"]) >= 2
