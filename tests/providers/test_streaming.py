"""Streaming against a real local HTTP server: SSE, deadlines, cuts, error events, the pool."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from tests.providers.conftest import MakeProvider, StartUpstream, make_request
from tests.providers.upstream import (
    DONE,
    END,
    Request,
    delta,
    event,
    frame,
    response,
    sse_head,
)

from llm_gateway.errors import (
    ContentFiltered,
    ProviderRateLimited,
    ProviderStreamError,
    ProviderTimeout,
)
from llm_gateway.providers.base import StreamChunk
from llm_gateway.providers.openai_stream import ChunkStream

USAGE = {
    "prompt_tokens": 5,
    "completion_tokens": 3,
    "total_tokens": 8,
    "cost": 0.0004,
    "prompt_tokens_details": {"cached_tokens": 2},
}


def scripted(*parts: bytes | float, close: bool = False):  # type: ignore[no-untyped-def]
    """A handler writing ``parts`` in order; a float sleeps that many seconds."""

    async def handler(request: Request, writer: asyncio.StreamWriter) -> None:
        for part in parts:
            if isinstance(part, float):
                await writer.drain()
                await asyncio.sleep(part)
            else:
                writer.write(part)
        if close:
            await writer.drain()
            writer.close()

    return handler


async def collect(stream: ChunkStream) -> list[StreamChunk]:
    return [chunk async for chunk in stream]


GOOD = (
    sse_head({"X-Generation-Id": "gen-7"}),
    event(
        delta(None, role="x")
        | {"choices": [{"index": 0, "delta": {"role": "assistant"}, "finish_reason": None}]}
    ),
    event(delta("Hel")),
    event(delta("lo")),
    event(delta(None, "stop")),
    event({"id": "gen-1", "object": "chat.completion.chunk", "choices": [], "usage": USAGE}),
    DONE,
    END,
)


async def test_a_stream_yields_chunks_usage_and_ends_at_done(
    upstream: StartUpstream, provider_for: MakeProvider
) -> None:
    server = await upstream(scripted(*GOOD))
    provider = provider_for(server)
    stream = provider.stream(make_request(stream=True))
    chunks = await collect(stream)

    assert "".join(c.content for c in chunks) == "Hello"
    assert [c.finish_reason for c in chunks if c.finish_reason] == ["stop"]
    usage = chunks[-1].usage
    assert usage is not None and usage.cost == Decimal("0.0004")
    assert usage.cached_prompt_tokens == 2 and usage.total_tokens == 8
    assert stream.request_id == "gen-7" and stream.malformed_chunks == 0
    sent = server.requests[0]
    assert sent.json()["stream"] is True
    assert sent.headers["accept"] == "text/event-stream"


async def test_the_connection_is_reused_after_a_complete_stream(
    upstream: StartUpstream, provider_for: MakeProvider
) -> None:
    # The body's last chunk comes a moment after [DONE]: the stream waits for it to reuse.
    server = await upstream(scripted(*GOOD[:-1], 0.02, END))
    provider = provider_for(server)
    for _ in range(3):
        await collect(provider.stream(make_request(stream=True)))
    assert server.connections == 1 and len(server.requests) == 3


async def test_nothing_is_sent_before_iteration(
    upstream: StartUpstream, provider_for: MakeProvider
) -> None:
    server = await upstream(scripted(*GOOD))
    stream = provider_for(server).stream(make_request(stream=True))
    await asyncio.sleep(0.02)
    assert server.requests == []
    await stream.aclose()


async def test_comments_do_not_count_as_the_first_token(
    upstream: StartUpstream, provider_for: MakeProvider
) -> None:
    keepalive = frame(b": OPENROUTER PROCESSING\n\n")
    parts = [sse_head()] + [p for _ in range(8) for p in (keepalive, 0.05)] + [event(delta("x"))]
    server = await upstream(scripted(*parts, DONE, END))
    stream = provider_for(server).stream(make_request(stream=True, first_token_s=0.2))
    with pytest.raises(ProviderTimeout, match=r"no first token within 0\.2 s"):
        await collect(stream)
    assert stream.comments >= 2


async def test_comments_before_a_timely_first_token_are_skipped(
    upstream: StartUpstream, provider_for: MakeProvider
) -> None:
    keepalive = frame(b": OPENROUTER PROCESSING\n\n")
    server = await upstream(
        scripted(sse_head(), keepalive, 0.05, keepalive, event(delta("ok")), DONE, END)
    )
    stream = provider_for(server).stream(make_request(stream=True, first_token_s=0.5))
    assert [c.content for c in await collect(stream)] == ["ok"]
    assert stream.comments == 2


async def test_a_role_only_chunk_is_yielded_but_is_not_the_first_token(
    upstream: StartUpstream, provider_for: MakeProvider
) -> None:
    role = {"choices": [{"index": 0, "delta": {"role": "assistant"}, "finish_reason": None}]}
    server = await upstream(scripted(sse_head(), event(role), 0.4, event(delta("late")), DONE, END))
    stream = provider_for(server).stream(make_request(stream=True, first_token_s=0.2))
    first = await stream.__anext__()
    assert first.content == "" and not first.has_payload
    with pytest.raises(ProviderTimeout, match="no first token"):
        await stream.__anext__()


async def test_a_stall_after_the_first_token_times_out(
    upstream: StartUpstream, provider_for: MakeProvider
) -> None:
    hung_up = asyncio.Event()

    async def one_then_silence(request: Request, writer: asyncio.StreamWriter) -> None:
        writer.write(sse_head() + event(delta("a")))
        await writer.drain()
        if await request.wait_for_hangup():
            hung_up.set()

    server = await upstream(one_then_silence)
    stream = provider_for(server).stream(make_request(stream=True, stall_s=0.2))
    assert (await stream.__anext__()).content == "a"
    with pytest.raises(ProviderTimeout, match=r"stream stalled: no chunk for 0\.2 s"):
        await stream.__anext__()
    await asyncio.wait_for(hung_up.wait(), 2)  # the connection was dropped, not pooled
    with pytest.raises(StopAsyncIteration):
        await stream.__anext__()  # a failed stream stays finished


async def test_the_attempt_deadline_caps_the_stall_wait(
    upstream: StartUpstream, provider_for: MakeProvider
) -> None:
    server = await upstream(scripted(sse_head(), event(delta("a")), 1.0, event(delta("b"))))
    stream = provider_for(server).stream(make_request(stream=True, stall_s=5, total_s=0.3))
    assert (await stream.__anext__()).content == "a"
    with pytest.raises(
        ProviderTimeout, match="attempt deadline reached while waiting for the next chunk"
    ):
        await stream.__anext__()


async def test_a_cut_mid_stream_is_a_stream_error(
    upstream: StartUpstream, provider_for: MakeProvider
) -> None:
    server = await upstream(scripted(sse_head(), event(delta("a")), event(delta("b")), close=True))
    stream = provider_for(server).stream(make_request(stream=True))
    received = []
    with pytest.raises(ProviderStreamError, match="stream cut"):
        async for chunk in stream:
            received.append(chunk.content)
    assert received == ["a", "b"]


async def test_a_cut_inside_an_event_is_a_stream_error(
    upstream: StartUpstream, provider_for: MakeProvider
) -> None:
    server = await upstream(
        scripted(sse_head(), event(delta("a")), b'40\r\ndata: {"choices": [{"del', close=True)
    )
    with pytest.raises(ProviderStreamError):
        await collect(provider_for(server).stream(make_request(stream=True)))


async def test_a_malformed_chunk_is_skipped_and_counted(
    upstream: StartUpstream, provider_for: MakeProvider
) -> None:
    server = await upstream(
        scripted(
            sse_head(),
            event(delta("a")),
            event(b"{not json"),
            event(b"[1, 2]"),
            event(delta("b")),
            DONE,
            END,
        )
    )
    stream = provider_for(server).stream(make_request(stream=True))
    assert [c.content for c in await collect(stream)] == ["a", "b"]
    assert stream.malformed_chunks == 2


async def test_a_malformed_chunk_right_before_the_end_is_a_cut(
    upstream: StartUpstream, provider_for: MakeProvider
) -> None:
    server = await upstream(scripted(sse_head(), event(delta("a")), event(b'{"choi'), END))
    with pytest.raises(ProviderStreamError, match="malformed"):
        await collect(provider_for(server).stream(make_request(stream=True)))


async def test_a_body_ending_without_done_ends_the_stream_normally(
    upstream: StartUpstream, provider_for: MakeProvider
) -> None:
    server = await upstream(
        scripted(sse_head(), event(delta("a")), event(delta(None, "stop")), END)
    )
    chunks = await collect(provider_for(server).stream(make_request(stream=True)))
    assert [c.finish_reason for c in chunks] == [None, "stop"]


async def test_an_unterminated_last_event_is_still_read(
    upstream: StartUpstream, provider_for: MakeProvider
) -> None:
    server = await upstream(scripted(sse_head(), frame(b'data: {"choices": []}'), END))
    chunks = await collect(provider_for(server).stream(make_request(stream=True)))
    assert len(chunks) == 1


async def test_crlf_and_multi_line_data_on_the_wire(
    upstream: StartUpstream, provider_for: MakeProvider
) -> None:
    body = (
        b'data: {"choices": [{"index": 0,\r\ndata: "delta": {"content": "hi"}}]}\r\n\r\n'
        b": keep-alive\r\n\r\ndata: [DONE]\r\n\r\n"
    )
    server = await upstream(scripted(sse_head(), frame(body[:30]), frame(body[30:]), END))
    chunks = await collect(provider_for(server).stream(make_request(stream=True)))
    assert [c.content for c in chunks] == ["hi"]


async def test_an_openrouter_mid_stream_error_event_is_a_stream_error(
    upstream: StartUpstream, provider_for: MakeProvider
) -> None:
    error_event = {
        "id": "cmpl-abc123",
        "object": "chat.completion.chunk",
        "provider": "openai",
        "error": {"code": "server_error", "message": "Provider disconnected unexpectedly"},
        "choices": [{"index": 0, "delta": {"content": ""}, "finish_reason": "error"}],
    }
    server = await upstream(
        scripted(sse_head(), event(delta("par")), event(error_event), DONE, END)
    )
    stream = provider_for(server).stream(make_request(stream=True))
    assert (await stream.__anext__()).content == "par"
    with pytest.raises(ProviderStreamError, match="Provider disconnected unexpectedly") as caught:
        await stream.__anext__()
    assert caught.value.model == "test-model"


async def test_finish_reason_error_alone_is_a_stream_error(
    upstream: StartUpstream, provider_for: MakeProvider
) -> None:
    server = await upstream(
        scripted(sse_head(), event(delta("a")), event(delta(None, "error")), DONE, END)
    )
    with pytest.raises(ProviderStreamError, match="finish_reason"):
        await collect(provider_for(server).stream(make_request(stream=True)))


async def test_a_content_filter_finish_is_content_filtered(
    upstream: StartUpstream, provider_for: MakeProvider
) -> None:
    server = await upstream(
        scripted(sse_head(), event(delta("a")), event(delta(None, "content_filter")), DONE, END)
    )
    with pytest.raises(ContentFiltered):
        await collect(provider_for(server).stream(make_request(stream=True)))


async def test_an_error_status_is_raised_from_the_first_next(
    upstream: StartUpstream, provider_for: MakeProvider
) -> None:
    body = {"error": {"code": 429, "message": "Rate limit exceeded"}}
    server = await upstream(scripted(response(429, body, {"Retry-After": "2"})))
    stream = provider_for(server).stream(make_request(stream=True))
    with pytest.raises(ProviderRateLimited) as caught:
        await stream.__anext__()
    assert caught.value.retry_after == 2.0


async def test_a_json_error_with_200_on_a_stream_is_mapped(
    upstream: StartUpstream, provider_for: MakeProvider
) -> None:
    body = {"error": {"code": 429, "message": "upstream busy"}}
    server = await upstream(scripted(response(200, body)))
    with pytest.raises(ProviderRateLimited, match="upstream busy"):
        await collect(provider_for(server).stream(make_request(stream=True)))


async def test_a_json_answer_to_a_stream_request_is_a_stream_error(
    upstream: StartUpstream, provider_for: MakeProvider
) -> None:
    server = await upstream(scripted(response(200, {"choices": []})))
    with pytest.raises(ProviderStreamError, match="expected an event stream"):
        await collect(provider_for(server).stream(make_request(stream=True)))


async def test_cancelling_the_reader_drops_the_connection(
    upstream: StartUpstream, provider_for: MakeProvider
) -> None:
    hung_up = asyncio.Event()

    async def slow(request: Request, writer: asyncio.StreamWriter) -> None:
        writer.write(sse_head() + event(delta("a")))
        await writer.drain()
        if await request.wait_for_hangup():
            hung_up.set()

    server = await upstream(slow)
    stream = provider_for(server).stream(make_request(stream=True, stall_s=5))
    assert (await stream.__anext__()).content == "a"
    task = asyncio.create_task(stream.__anext__())
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.wait_for(hung_up.wait(), 2)


async def test_aclose_mid_stream_drops_the_connection_and_the_pool_recovers(
    upstream: StartUpstream, provider_for: MakeProvider
) -> None:
    calls = 0

    async def first_endless(request: Request, writer: asyncio.StreamWriter) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            writer.write(sse_head() + event(delta("a")))
            await writer.drain()
            await request.wait_for_hangup()
            writer.close()
            return
        writer.write(b"".join(GOOD))

    server = await upstream(first_endless)
    provider = provider_for(server)
    async with provider.stream(make_request(stream=True)) as stream:
        assert (await stream.__anext__()).content == "a"
    chunks = await collect(provider.stream(make_request(stream=True)))
    assert "".join(c.content for c in chunks) == "Hello"
    assert server.connections == 2
