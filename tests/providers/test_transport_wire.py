"""HTTP/1.1 framing and pool behaviour, through the provider, on both transports (real server)."""

from __future__ import annotations

import asyncio
import gzip

import orjson
import pytest
from tests.providers.conftest import MakeProvider, StartUpstream, make_request
from tests.providers.upstream import DONE, END, Request, delta, event, frame, response, sse_head

from llm_gateway.errors import (
    ProviderBadRequest,
    ProviderConnectionError,
    ProviderTimeout,
    ProviderUnavailable,
)
from llm_gateway.providers.transport import TransportKind

COMPLETION = {
    "id": "gen-1",
    "object": "chat.completion",
    "choices": [{"index": 0, "message": {"content": "hi"}, "finish_reason": "stop"}],
}
RAW = orjson.dumps(COMPLETION)


def writes(*parts: bytes, close: bool = False):  # type: ignore[no-untyped-def]
    async def handler(request: Request, writer: asyncio.StreamWriter) -> None:
        for part in parts:
            writer.write(part)
            await writer.drain()
        if close:
            writer.close()

    return handler


def head(status: str = "200 OK", **headers: str) -> bytes:
    lines = "".join(f"{k.replace('_', '-')}: {v}\r\n" for k, v in headers.items())
    return f"HTTP/1.1 {status}\r\n{lines}\r\n".encode()


async def test_connection_close_is_honoured(
    upstream: StartUpstream, provider_for: MakeProvider
) -> None:
    answer = head(Content_Type="application/json", Content_Length=str(len(RAW)), Connection="close")
    server = await upstream(writes(answer + RAW, close=True))
    provider = provider_for(server)
    for _ in range(3):
        assert (await provider.complete(make_request())).body == COMPLETION
    assert server.connections == 3


async def test_a_body_delimited_by_the_close_is_read_whole(
    upstream: StartUpstream, provider_for: MakeProvider
) -> None:
    server = await upstream(
        writes(head(Content_Type="application/json"), RAW[:10], RAW[10:], close=True)
    )
    assert (await provider_for(server).complete(make_request())).body == COMPLETION


async def test_a_chunked_answer_with_extensions_and_trailers(
    upstream: StartUpstream, provider_for: MakeProvider
) -> None:
    chunked = head(Content_Type="application/json", Transfer_Encoding="chunked")
    body = b"%x;ext=1\r\n%s\r\n" % (10, RAW[:10]) + frame(RAW[10:]) + b"0\r\nX-Trailer: 1\r\n\r\n"
    server = await upstream(writes(chunked, body))
    provider = provider_for(server)
    for _ in range(2):
        assert (await provider.complete(make_request())).body == COMPLETION
    assert server.connections == 1


async def test_an_interim_1xx_answer_is_skipped(
    upstream: StartUpstream, provider_for: MakeProvider
) -> None:
    early = b"HTTP/1.1 100 Continue\r\n\r\n"
    server = await upstream(writes(early, response(200, COMPLETION)))
    assert (await provider_for(server).complete(make_request())).body == COMPLETION


async def test_a_gzip_body_sent_anyway_is_decompressed(
    upstream: StartUpstream, provider_for: MakeProvider
) -> None:
    packed = gzip.compress(RAW)
    answer = head(
        Content_Type="application/json", Content_Encoding="gzip", Content_Length=str(len(packed))
    )
    server = await upstream(writes(answer + packed))
    assert (await provider_for(server).complete(make_request())).body == COMPLETION


async def test_an_unreadable_head_is_a_connection_error(
    upstream: StartUpstream, provider_for: MakeProvider
) -> None:
    server = await upstream(writes(b"SMTP ready\r\n\r\n", close=True))
    with pytest.raises(ProviderConnectionError):
        await provider_for(server).complete(make_request())


async def test_an_error_answer_leaves_the_pool_usable(
    upstream: StartUpstream, provider_for: MakeProvider
) -> None:
    calls = 0

    async def first_fails(request: Request, writer: asyncio.StreamWriter) -> None:
        nonlocal calls
        calls += 1
        body = {"error": {"message": "x" * 100_000}} if calls == 1 else COMPLETION
        writer.write(response(503 if calls == 1 else 200, body))

    server = await upstream(first_fails)
    provider = provider_for(server)
    with pytest.raises(ProviderUnavailable):
        await provider.complete(make_request())
    assert (await provider.complete(make_request())).body == COMPLETION


async def test_max_connections_bounds_the_pool(
    upstream: StartUpstream, provider_for: MakeProvider
) -> None:
    async def slow(request: Request, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(0.05)
        writer.write(response(200, COMPLETION))

    server = await upstream(slow)
    provider = provider_for(server, max_connections=1)
    results = await asyncio.gather(*(provider.complete(make_request()) for _ in range(3)))
    assert [r.body for r in results] == [COMPLETION] * 3
    assert server.connections == 1


async def test_waiting_for_a_free_connection_is_bounded_by_the_headers_deadline(
    upstream: StartUpstream, provider_for: MakeProvider
) -> None:
    async def silent(request: Request, writer: asyncio.StreamWriter) -> None:
        await request.wait_for_hangup()

    server = await upstream(silent)
    provider = provider_for(server, max_connections=1)
    first = asyncio.create_task(provider.complete(make_request(headers_s=1.0)))
    await asyncio.sleep(0.05)
    with pytest.raises(ProviderTimeout, match=r"no response headers within 0\.1 s"):
        await provider.complete(make_request(headers_s=0.1))
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first


async def test_idle_connections_expire(upstream: StartUpstream, provider_for: MakeProvider) -> None:
    server = await upstream(writes(response(200, COMPLETION)))
    provider = provider_for(server, keepalive_timeout_s=0.05)
    await provider.complete(make_request())
    await asyncio.sleep(0.2)
    await provider.complete(make_request())
    assert server.connections == 2


async def test_a_connection_the_server_closed_while_idle_is_not_used(
    upstream: StartUpstream, provider_for: MakeProvider
) -> None:
    async def answer_then_close_soon(request: Request, writer: asyncio.StreamWriter) -> None:
        writer.write(response(200, COMPLETION))
        await writer.drain()
        await asyncio.sleep(0.02)
        writer.close()  # a server keep-alive timeout, with no Connection: close announced

    server = await upstream(answer_then_close_soon)
    provider = provider_for(server)
    for _ in range(2):
        assert (await provider.complete(make_request())).body == COMPLETION
        await asyncio.sleep(0.1)
    assert server.connections == 2


async def test_a_header_that_cannot_be_sent_is_a_bad_request(
    upstream: StartUpstream, provider_for: MakeProvider
) -> None:
    server = await upstream(writes(response(200, COMPLETION)))
    with pytest.raises(ProviderBadRequest):
        await provider_for(server).complete(make_request(extra_headers={"X-A": "1\r\nX-B: 2"}))
    assert server.requests == []


async def test_a_large_stream_read_slowly_arrives_whole(
    upstream: StartUpstream, provider_for: MakeProvider
) -> None:
    # 1.5 MB written at once and read slowly: the reader's buffer passes the pause threshold.
    tokens = [event(delta("x" * 500)) for _ in range(3000)]
    server = await upstream(writes(sse_head(), b"".join(tokens), DONE, END))
    stream = provider_for(server).stream(make_request(stream=True, stall_s=2, total_s=10))
    first = await stream.__anext__()
    await asyncio.sleep(0.1)
    rest = [chunk async for chunk in stream]
    assert len(rest) + 1 == 3000 and first.content == "x" * 500


async def test_a_steady_stream_outlives_its_first_deadlines_and_a_stall_still_fires(
    upstream: StartUpstream, provider_for: MakeProvider
) -> None:
    # Each chunk comes 0.05 s after the last: well within stall_s, but the stream as a whole
    # outlasts the first-token and first stall deadlines, so any timer armed for those must be
    # moved along, not fire; the silence at the end must still time out.
    async def steady_then_silent(request: Request, writer: asyncio.StreamWriter) -> None:
        writer.write(sse_head())
        for i in range(8):
            writer.write(event(delta(str(i))))
            await writer.drain()
            await asyncio.sleep(0.05)
        await request.wait_for_hangup()

    server = await upstream(steady_then_silent)
    stream = provider_for(server).stream(
        make_request(stream=True, first_token_s=0.1, stall_s=0.2, total_s=5)
    )
    received = []
    with pytest.raises(ProviderTimeout, match="stream stalled"):
        async for chunk in stream:
            received.append(chunk.content)
    assert received == [str(i) for i in range(8)]


async def test_an_endless_head_is_refused(
    upstream: StartUpstream, provider_for: MakeProvider, transport: TransportKind
) -> None:
    padding = b"".join(b"X-Pad-%d: %s\r\n" % (i, b"p" * 1000) for i in range(100))
    server = await upstream(writes(b"HTTP/1.1 200 OK\r\n" + padding))
    # The native transport refuses a head over 64 KiB at once; aiohttp waits for the rest.
    expected = ProviderConnectionError if transport == "native" else ProviderTimeout
    with pytest.raises(expected):
        await provider_for(server).complete(make_request(headers_s=0.3))
