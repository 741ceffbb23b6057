"""Non-streaming completions against a real local HTTP server: wire, errors, deadlines, pool."""

from __future__ import annotations

import asyncio
import socket
import struct
from decimal import Decimal

import orjson
import pytest
from pydantic import SecretStr
from tests.providers.conftest import API_KEY, MakeProvider, StartUpstream, make_request
from tests.providers.upstream import Request, response

from llm_gateway.errors import (
    ContentFiltered,
    ContextLengthExceeded,
    ProviderAuthError,
    ProviderConnectionError,
    ProviderDisconnected,
    ProviderRateLimited,
    ProviderTimeout,
    ProviderUnavailable,
)
from llm_gateway.providers.base import Provider
from llm_gateway.providers.openai_compatible import Endpoint, OpenAICompatibleProvider
from llm_gateway.providers.transport import TransportKind

COMPLETION = {
    "id": "gen-123",
    "object": "chat.completion",
    "model": "vendor/test-model",
    "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "Hello!"}, "finish_reason": "stop"}
    ],
    "usage": {
        "prompt_tokens": 194,
        "completion_tokens": 2,
        "total_tokens": 196,
        "cost": 0.95,
        "cost_details": {"upstream_inference_cost": 19},
        "prompt_tokens_details": {"cached_tokens": 100, "cache_write_tokens": 100},
        "completion_tokens_details": {"reasoning_tokens": 1},
    },
}


def answer(status: int, body: object, headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    async def handler(request: Request, writer: asyncio.StreamWriter) -> None:
        writer.write(response(status, body, headers))

    return handler


async def test_success_returns_body_usage_and_request_id(
    upstream: StartUpstream, provider_for: MakeProvider
) -> None:
    server = await upstream(answer(200, COMPLETION, {"X-Request-Id": "req-9"}))
    provider = provider_for(server, headers={"X-Custom": "yes"})
    request = make_request()
    result = await provider.complete(request)

    assert result.body == COMPLETION and result.status == 200 and result.request_id == "req-9"
    assert result.usage is not None
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (194, 2)
    assert result.usage.cached_prompt_tokens == 100 and result.usage.reasoning_tokens == 1
    assert result.usage.cost == Decimal("0.95")
    sent = server.requests[0]
    assert (sent.method, sent.path) == ("POST", "/v1/chat/completions")
    assert sent.body == orjson.dumps(request.body)
    assert sent.headers["authorization"] == f"Bearer {API_KEY}"
    assert sent.headers["content-type"] == "application/json"
    assert sent.headers["x-custom"] == "yes"


async def test_it_is_a_provider(upstream: StartUpstream, provider_for: MakeProvider) -> None:
    server = await upstream(answer(200, COMPLETION))
    assert isinstance(provider_for(server), Provider)


async def test_request_id_falls_back_to_the_body_id(
    upstream: StartUpstream, provider_for: MakeProvider
) -> None:
    server = await upstream(answer(200, COMPLETION))
    assert (await provider_for(server).complete(make_request())).request_id == "gen-123"


async def test_keep_alive_reuses_one_connection(
    upstream: StartUpstream, provider_for: MakeProvider
) -> None:
    server = await upstream(answer(200, COMPLETION))
    provider = provider_for(server)
    for _ in range(3):
        await provider.complete(make_request())
    assert server.connections == 1 and len(server.requests) == 3


async def test_extra_headers_and_no_key_means_no_authorization(
    upstream: StartUpstream, provider_for: MakeProvider
) -> None:
    server = await upstream(answer(200, COMPLETION))
    provider = provider_for(server, api_key=None)
    await provider.complete(make_request(extra_headers={"X-Trace": "t-1"}))
    sent = server.requests[0].headers
    assert "authorization" not in sent and sent["x-trace"] == "t-1"


@pytest.mark.parametrize(
    ("status", "body", "headers", "expected", "retry_after"),
    [
        (
            429,
            {"error": {"code": 429, "message": "slow"}},
            {"Retry-After": "3"},
            ProviderRateLimited,
            3.0,
        ),
        (
            503,
            b"<html>down</html>",
            {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"},
            ProviderUnavailable,
            0.0,
        ),
        (
            400,
            {"error": {"code": "context_length_exceeded", "message": "too long"}},
            {},
            ContextLengthExceeded,
            None,
        ),
        (401, {"error": {"code": 401, "message": "bad key"}}, {}, ProviderAuthError, None),
    ],
)
async def test_error_statuses_map_end_to_end(
    upstream: StartUpstream,
    provider_for: MakeProvider,
    status: int,
    body: object,
    headers: dict[str, str],
    expected: type[Exception],
    retry_after: float | None,
) -> None:
    server = await upstream(answer(status, body, headers))
    provider = provider_for(server)
    with pytest.raises(expected) as caught:
        await provider.complete(make_request())
    error = caught.value
    assert error.retry_after == retry_after  # type: ignore[attr-defined]
    assert error.model == "test-model"  # type: ignore[attr-defined]  # the logical id
    assert "vendor/test-model" in str(error) and str(status) in str(error)
    assert server.connections == 1


async def test_an_error_object_in_a_200_body_is_mapped(
    upstream: StartUpstream, provider_for: MakeProvider
) -> None:
    body = {"error": {"code": 502, "message": "Provider returned error"}}
    server = await upstream(answer(200, body))
    with pytest.raises(ProviderUnavailable, match="Provider returned error"):
        await provider_for(server).complete(make_request())


async def test_content_filter_finish_reason_is_content_filtered(
    upstream: StartUpstream, provider_for: MakeProvider
) -> None:
    body = {
        **COMPLETION,
        "choices": [{"index": 0, "message": {"content": ""}, "finish_reason": "content_filter"}],
    }
    server = await upstream(answer(200, body))
    with pytest.raises(ContentFiltered):
        await provider_for(server).complete(make_request())


async def test_unreadable_200_body_is_unavailable(
    upstream: StartUpstream, provider_for: MakeProvider
) -> None:
    server = await upstream(answer(200, b"not json"))
    with pytest.raises(ProviderUnavailable, match="unreadable"):
        await provider_for(server).complete(make_request())


async def test_the_key_never_appears_in_errors_or_reprs(
    upstream: StartUpstream, provider_for: MakeProvider
) -> None:
    async def echo_auth(request: Request, writer: asyncio.StreamWriter) -> None:
        message = f"invalid credentials: {request.headers['authorization']}"
        writer.write(response(401, {"error": {"code": 401, "message": message}}))

    server = await upstream(echo_auth)
    provider = provider_for(server)
    with pytest.raises(ProviderAuthError) as caught:
        await provider.complete(make_request())
    rendered = [
        str(caught.value),
        repr(caught.value),
        str(caught.value.to_dict()),
        caught.value.describe(),
        repr(provider),
        repr(provider.endpoint),
        str(provider.endpoint),
    ]
    assert all(API_KEY not in text for text in rendered)
    assert "[redacted]" in str(caught.value)


async def test_headers_deadline_raises_timeout_and_drops_the_connection(
    upstream: StartUpstream, provider_for: MakeProvider
) -> None:
    hung_up = asyncio.Event()

    async def silent(request: Request, writer: asyncio.StreamWriter) -> None:
        if await request.wait_for_hangup():
            hung_up.set()

    server = await upstream(silent)
    with pytest.raises(ProviderTimeout, match=r"no response headers within 0\.2 s") as caught:
        await provider_for(server).complete(make_request(headers_s=0.2))
    assert not caught.value.retryable
    await asyncio.wait_for(hung_up.wait(), 10)  # bounded; a loaded machine is slow to see it


async def test_the_attempt_deadline_caps_the_headers_wait(
    upstream: StartUpstream, provider_for: MakeProvider
) -> None:
    async def silent(request: Request, writer: asyncio.StreamWriter) -> None:
        await request.wait_for_hangup()

    server = await upstream(silent)
    with pytest.raises(
        ProviderTimeout, match="attempt deadline reached while waiting for response headers"
    ):
        await provider_for(server).complete(make_request(headers_s=5, total_s=0.2))


async def test_an_expired_attempt_sends_nothing(
    upstream: StartUpstream, provider_for: MakeProvider
) -> None:
    server = await upstream(answer(200, COMPLETION))
    request = make_request(total_s=0.0001)
    await asyncio.sleep(0.01)
    with pytest.raises(ProviderTimeout):
        await provider_for(server).complete(request)
    assert server.requests == []


async def test_connection_refused_is_a_retryable_connection_error(
    transport: TransportKind,
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: connections are refused
        provider = OpenAICompatibleProvider(
            Endpoint(
                name="dead", base_url=f"http://127.0.0.1:{port}/v1", api_key=SecretStr(API_KEY)
            ),
            transport=transport,
        )
        try:
            with pytest.raises(ProviderConnectionError) as caught:
                await provider.complete(make_request())
        finally:
            await provider.close()
    assert caught.value.retryable and API_KEY not in str(caught.value)
    assert (await provider.health()).status == "degraded"


@pytest.mark.parametrize("reset", [False, True], ids=["close", "reset"])
async def test_hang_up_after_the_request_is_disconnected_not_retried(
    upstream: StartUpstream, provider_for: MakeProvider, reset: bool
) -> None:
    async def hang_up(request: Request, writer: asyncio.StreamWriter) -> None:
        if reset:  # RST instead of FIN
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
        else:
            writer.close()

    server = await upstream(hang_up)
    with pytest.raises(ProviderDisconnected, match="hung up without answering") as caught:
        await provider_for(server).complete(make_request())
    assert not caught.value.retryable and caught.value.fallback


async def test_body_cut_short_is_a_connection_error(
    upstream: StartUpstream, provider_for: MakeProvider
) -> None:
    async def short(request: Request, writer: asyncio.StreamWriter) -> None:
        writer.write(b'HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n{"id": ')
        await writer.drain()
        writer.close()

    server = await upstream(short)
    with pytest.raises(ProviderConnectionError, match="response lost"):
        await provider_for(server).complete(make_request())


async def test_cancellation_propagates_and_frees_the_connection(
    upstream: StartUpstream, provider_for: MakeProvider
) -> None:
    hung_up = asyncio.Event()
    calls = 0

    async def first_hangs(request: Request, writer: asyncio.StreamWriter) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            if await request.wait_for_hangup():
                hung_up.set()
            return
        writer.write(response(200, COMPLETION))

    server = await upstream(first_hangs)
    provider = provider_for(server)
    task = asyncio.create_task(provider.complete(make_request(headers_s=5)))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.wait_for(hung_up.wait(), 2)
    assert (await provider.complete(make_request())).body == COMPLETION


async def test_health_without_traffic_is_unknown_then_ok(
    upstream: StartUpstream, provider_for: MakeProvider
) -> None:
    server = await upstream(answer(200, COMPLETION))
    provider = provider_for(server)
    assert (await provider.health()).status == "unknown"
    await provider.complete(make_request())
    health = await provider.health()
    assert health.status == "ok" and health.open_connections == 1


async def test_close_is_idempotent_and_a_later_request_reopens(
    upstream: StartUpstream, provider_for: MakeProvider
) -> None:
    server = await upstream(answer(200, COMPLETION))
    provider = provider_for(server)
    await provider.complete(make_request())
    await provider.close()
    await provider.close()
    await provider.complete(make_request())
    assert server.connections == 2
