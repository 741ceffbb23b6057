"""A 2xx body past the endpoint's ``max_body_bytes`` (GATEWAY_MAX_UPSTREAM_BODY_BYTES) fails the
attempt with a ProviderError that quotes none of it, on both transports; a compressed body is
capped after decompression."""

from __future__ import annotations

import asyncio
import gzip

import pytest
from tests.providers.conftest import MakeProvider, StartUpstream, make_request
from tests.providers.upstream import Request

from llm_gateway.errors import ProviderError, ProviderStreamError

CAP = 64 * 1024


def huge_body(size: int, headers: bytes = b""):  # type: ignore[no-untyped-def]
    async def handler(request: Request, writer: asyncio.StreamWriter) -> None:
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" + headers
        writer.write(head + b"Content-Length: %d\r\n\r\n" % size)
        for _ in range(size // 65536):  # bounded by size
            writer.write(b"x" * 65536)
            await writer.drain()

    return handler


async def test_plain_body_over_the_cap_fails_without_quoting_it(
    upstream: StartUpstream, provider_for: MakeProvider
) -> None:
    server = await upstream(huge_body(64 * CAP))
    provider = provider_for(server, max_body_bytes=CAP)
    with pytest.raises(ProviderError) as caught:
        await provider.complete(make_request())
    assert type(caught.value) is ProviderError
    assert str(CAP) in caught.value.message and "xxxx" not in caught.value.message


async def test_compressed_body_is_capped_once_decompressed(
    upstream: StartUpstream, provider_for: MakeProvider
) -> None:
    bomb = gzip.compress(b"x" * (32 * CAP))  # a few kB on the wire

    async def handler(request: Request, writer: asyncio.StreamWriter) -> None:
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
        writer.write(head + b"Content-Length: %d\r\n\r\n" % len(bomb) + bomb)

    provider = provider_for(await upstream(handler), max_body_bytes=CAP)
    with pytest.raises(ProviderError) as caught:
        await provider.complete(make_request())
    assert str(CAP) in caught.value.message


async def test_one_stream_event_over_the_cap_ends_the_stream(
    upstream: StartUpstream, provider_for: MakeProvider
) -> None:
    async def handler(request: Request, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n")
        writer.write(b"Connection: close\r\n\r\ndata: ")
        for _ in range(64):  # 4 MiB of one event, never terminated
            writer.write(b"x" * 65536)
            await writer.drain()

    provider = provider_for(await upstream(handler), max_body_bytes=CAP)
    with pytest.raises(ProviderStreamError) as caught:
        async with provider.stream(make_request(stream=True)) as chunks:
            async for _ in chunks:
                pass
    assert str(CAP) in caught.value.message and "xxxx" not in caught.value.message
