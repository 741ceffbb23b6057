"""End to end with the official openai SDK: SDK → uvicorn (loopback) → create_app(settings) →
gateway → OpenRouter provider over HTTP → the simulator (loopback). Nothing is injected: the
app's lifespan builds the gateway from the settings, as ``llm-gateway serve`` does."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from tests.http.conftest import make_settings
from tests.http.serving import serve

from llm_gateway.app import create_app
from llm_gateway.simulator.testing import SimulatorHandle

HELLO: list[Any] = [{"role": "user", "content": "Say hello to the gateway"}]
TOOLS: list[Any] = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather for a city",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
]
CLIENT_KEY = "sk-e2e-client-0123456789"


@pytest.fixture
def gateway_url(simulator: SimulatorHandle, tmp_path: Path) -> Iterator[str]:
    settings = make_settings(
        tmp_path,
        GATEWAY_SIMULATE=False,
        OPENROUTER_API_KEY="sk-or-upstream-secret-0000",
        OPENROUTER_BASE_URL=simulator.base_url,
        GATEWAY_API_KEYS=f"e2e:{CLIENT_KEY}",
    )
    with serve(create_app(settings)) as (base_url, _server):
        yield base_url


@pytest.fixture
def sync_client(gateway_url: str) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=f"{gateway_url}/v1", api_key=CLIENT_KEY, max_retries=0) as c:
        yield c


def test_sync_completion(sync_client: openai.OpenAI, simulator: SimulatorHandle) -> None:
    raw = sync_client.chat.completions.with_raw_response.create(model="writer", messages=HELLO)
    completion = raw.parse()

    assert completion.choices[0].message.content
    assert completion.model == raw.headers["x-gateway-model"]
    assert float(raw.headers["x-gateway-overhead-ms"]) >= 0
    assert completion.usage is not None and completion.usage.total_tokens > 0
    upstream = simulator.attempts()
    assert len(upstream) == 1
    assert upstream[0].authorization  # the gateway's OpenRouter key, not the client's
    assert "/" in (upstream[0].model or "")  # the provider's model id went upstream


def test_sync_stream_with_usage(sync_client: openai.OpenAI) -> None:
    stream = sync_client.chat.completions.create(
        model="claude-sonnet",
        messages=HELLO,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)

    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text
    assert {c.model for c in chunks} == {"claude-sonnet"}
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0


def test_sync_tool_call(sync_client: openai.OpenAI) -> None:
    completion = sync_client.chat.completions.create(
        model="auto",
        messages=[{"role": "user", "content": "What is the weather in Paris?"}],
        tools=TOOLS,
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
    )

    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.tool_calls is not None
    call = choice.message.tool_calls[0]
    assert call.function.name == "get_weather"
    assert isinstance(json.loads(call.function.arguments), dict)


def test_sync_streamed_tool_call(sync_client: openai.OpenAI) -> None:
    stream = sync_client.chat.completions.create(
        model="writer", messages=HELLO, tools=TOOLS, tool_choice="required", stream=True
    )

    deltas = [c.choices[0].delta for c in stream if c.choices]
    calls = [tc for d in deltas for tc in (d.tool_calls or [])]
    assert calls and calls[0].function is not None
    assert calls[0].function.name == "get_weather"
    arguments = "".join(tc.function.arguments or "" for tc in calls if tc.function)
    assert isinstance(json.loads(arguments), dict)


def test_response_format_passes_through(sync_client: openai.OpenAI) -> None:
    completion = sync_client.chat.completions.create(
        model="gpt-4o", messages=HELLO, response_format={"type": "json_object"}
    )

    assert isinstance(json.loads(completion.choices[0].message.content or ""), dict)


def test_errors_map_to_the_sdk_exceptions(gateway_url: str) -> None:
    with openai.OpenAI(base_url=f"{gateway_url}/v1", api_key=CLIENT_KEY, max_retries=0) as ok:
        with pytest.raises(openai.NotFoundError) as missing:
            ok.chat.completions.create(model="gpt-9", messages=HELLO)
        with pytest.raises(openai.BadRequestError):
            ok.chat.completions.create(model="auto", messages=[])
    with (
        openai.OpenAI(base_url=f"{gateway_url}/v1", api_key="sk-nope", max_retries=0) as bad,
        pytest.raises(openai.AuthenticationError),
    ):
        bad.chat.completions.create(model="auto", messages=HELLO)

    assert missing.value.body is not None
    assert "gpt-9" in str(missing.value)


def test_models_list(sync_client: openai.OpenAI) -> None:
    ids = {model.id for model in sync_client.models.list()}

    assert {"claude-sonnet", "auto", "writer"} <= ids


async def test_async_completion_and_stream(gateway_url: str) -> None:
    async with openai.AsyncOpenAI(
        base_url=f"{gateway_url}/v1", api_key=CLIENT_KEY, max_retries=0
    ) as client:
        completion = await client.chat.completions.create(
            model="evaluator", messages=HELLO, extra_headers={"X-Trace-Id": "e2e-async-1"}
        )
        stream = await client.chat.completions.create(
            model="auto",
            messages=HELLO,
            stream=True,
            extra_headers={"X-Gateway-Node": "formatter"},
        )
        pieces = [c.choices[0].delta.content or "" async for c in stream if c.choices]

    assert completion.choices[0].message.content
    assert "".join(pieces)


async def test_async_tool_call(gateway_url: str) -> None:
    async with openai.AsyncOpenAI(
        base_url=f"{gateway_url}/v1", api_key=CLIENT_KEY, max_retries=0
    ) as client:
        completion = await client.chat.completions.create(
            model="auto", messages=HELLO, tools=TOOLS, tool_choice="required"
        )

    tool_calls = completion.choices[0].message.tool_calls
    assert tool_calls is not None
    assert tool_calls[0].function.name == "get_weather"


@pytest.mark.simulator_scenario(
    {"models": {"*": {"faults": [{"kind": "error", "status": 503, "times": 1}]}}}
)
def test_upstream_failure_falls_back_invisibly(
    sync_client: openai.OpenAI, simulator: SimulatorHandle
) -> None:
    completion = sync_client.chat.completions.create(model="writer", messages=HELLO)

    assert completion.choices[0].message.content
    statuses = [a.status for a in simulator.attempts()]
    assert statuses[0] == 503
    assert statuses[-1] == 200
