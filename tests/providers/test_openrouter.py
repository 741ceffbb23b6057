"""OpenRouter on the wire (against a local server standing in for it): key, attribution headers,
pass-through of routing fields, usage with cost, keep-alive comments, its error formats."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal

import orjson
import pytest
from pydantic import SecretStr
from tests.providers.conftest import StartUpstream, make_request
from tests.providers.upstream import DONE, END, Request, delta, event, frame, response, sse_head

from llm_gateway.config.catalog import ProviderConfig
from llm_gateway.errors import ContentFiltered, ProviderAuthError
from llm_gateway.providers.openai_compatible import OpenAICompatibleProvider
from llm_gateway.providers.openrouter import create_openrouter_provider
from llm_gateway.providers.transport import TransportKind
from llm_gateway.settings import Settings

OPENROUTER_KEY = "sk-or-v1-0123456789abcdefSECRET"

# The usage object exactly as https://openrouter.ai/docs/use-cases/usage-accounting shows it.
DOCUMENTED_USAGE = {
    "completion_tokens": 2,
    "completion_tokens_details": {"reasoning_tokens": 0},
    "cost": 0.95,
    "cost_details": {"upstream_inference_cost": 19},
    "prompt_tokens": 194,
    "prompt_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 100, "audio_tokens": 0},
    "total_tokens": 196,
}


def settings_for(base_url: str) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        OPENROUTER_API_KEY=SecretStr(OPENROUTER_KEY),
        OPENROUTER_BASE_URL=base_url,
        OPENROUTER_HTTP_REFERER="https://writer.example.com",
        OPENROUTER_APP_TITLE="Writer Platform",
    )


@pytest.fixture
async def openrouter_at(transport: TransportKind) -> AsyncIterator[object]:
    """OpenRouter providers on each transport: the factory's endpoint, the transport forced."""
    created: list[OpenAICompatibleProvider] = []

    def make(base_url: str) -> OpenAICompatibleProvider:
        settings = settings_for(base_url)
        config = ProviderConfig(name="openrouter", kind="openrouter")
        factory_made = create_openrouter_provider(config, settings, settings.OPENROUTER_API_KEY)
        provider = OpenAICompatibleProvider(factory_made.endpoint, transport=transport)
        created.append(provider)
        return provider

    yield make
    for provider in created:
        await provider.close()


def answer(*parts: bytes):  # type: ignore[no-untyped-def]
    async def handler(request: Request, writer: asyncio.StreamWriter) -> None:
        writer.write(b"".join(parts))

    return handler


COMPLETION = {
    "id": "gen-1",
    "object": "chat.completion",
    "choices": [{"index": 0, "message": {"content": "hi"}, "finish_reason": "stop"}],
    "usage": DOCUMENTED_USAGE,
}


async def test_key_attribution_headers_and_base_url(upstream: StartUpstream, openrouter_at) -> None:
    server = await upstream(answer(response(200, COMPLETION)))
    await openrouter_at(server.url).complete(make_request())
    sent = server.requests[0]
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == f"Bearer {OPENROUTER_KEY}"
    assert sent.headers["http-referer"] == "https://writer.example.com"
    assert sent.headers["x-openrouter-title"] == "Writer Platform"
    assert sent.headers["x-title"] == "Writer Platform"


async def test_provider_and_models_pass_through_untouched(
    upstream: StartUpstream, openrouter_at
) -> None:
    server = await upstream(answer(response(200, COMPLETION)))
    body = {
        "model": "anthropic/claude-3.5-sonnet",
        "models": ["anthropic/claude-3.5-sonnet", "openai/gpt-4o"],
        "provider": {
            "order": ["anthropic", "aws-bedrock"],
            "allow_fallbacks": False,
            "data_collection": "deny",
            "sort": "throughput",
        },
        "messages": [{"role": "user", "content": "hello"}],
        "transforms": ["middle-out"],
    }
    request = make_request(body)
    await openrouter_at(server.url).complete(request)
    assert server.requests[0].json() == body
    assert server.requests[0].body == orjson.dumps(body)  # sent as is: nothing added or renamed
    assert request.body == body  # and the caller's body was not mutated


async def test_documented_usage_with_cost_is_read(upstream: StartUpstream, openrouter_at) -> None:
    server = await upstream(answer(response(200, COMPLETION)))
    usage = (await openrouter_at(server.url).complete(make_request())).usage
    assert usage is not None
    assert usage.cost == Decimal("0.95")
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (194, 2, 196)
    assert usage.cached_prompt_tokens == 0 and usage.reasoning_tokens == 0


async def test_stream_with_processing_comments_and_usage_in_the_last_chunk(
    upstream: StartUpstream, openrouter_at
) -> None:
    processing = frame(b": OPENROUTER PROCESSING\n\n")
    last = {
        "id": "gen-1",
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
        "usage": DOCUMENTED_USAGE,
    }
    server = await upstream(
        answer(
            sse_head({"X-Generation-Id": "gen-abc"}),
            processing,
            processing,
            event(delta("Hi")),
            event(delta(" there")),
            event(last),
            DONE,
            END,
        )
    )
    stream = openrouter_at(server.url).stream(make_request(stream=True))
    chunks = [chunk async for chunk in stream]
    assert "".join(c.content for c in chunks) == "Hi there"
    assert chunks[-1].usage is not None and chunks[-1].usage.cost == Decimal("0.95")
    assert stream.request_id == "gen-abc" and stream.comments == 2


async def test_moderation_403_is_content_filtered(upstream: StartUpstream, openrouter_at) -> None:
    body = {
        "error": {
            "code": 403,
            "message": "Your input was flagged",
            "metadata": {
                "reasons": ["harassment"],
                "flagged_input": "...",
                "provider_name": "OpenAI",
                "model_slug": "openai/gpt-4o",
            },
        }
    }
    server = await upstream(answer(response(403, body)))
    with pytest.raises(ContentFiltered, match="harassment"):
        await openrouter_at(server.url).complete(make_request())


async def test_out_of_credits_402(upstream: StartUpstream, openrouter_at) -> None:
    body = {"error": {"code": 402, "message": "Insufficient credits"}}
    server = await upstream(answer(response(402, body, {"Retry-After": "120"})))
    with pytest.raises(ProviderAuthError) as caught:
        await openrouter_at(server.url).complete(make_request())
    assert caught.value.code == "insufficient_credits" and caught.value.retry_after == 120.0


async def test_the_key_is_not_in_reprs(upstream: StartUpstream, openrouter_at) -> None:
    server = await upstream(answer(response(200, COMPLETION)))
    provider = openrouter_at(server.url)
    assert OPENROUTER_KEY not in repr(provider) and OPENROUTER_KEY not in repr(provider.endpoint)
    assert OPENROUTER_KEY not in repr(settings_for(server.url))
