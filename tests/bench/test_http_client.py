"""The client's parsing when a response arrives in tiny pieces: events split across reads are
counted once, ``[DONE]`` split across reads is still seen, a JSON body's ``choices`` too."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from llm_gateway.bench.http_client import ClientConnection, RequestFailed, build_request
from llm_gateway.bench.mock_upstream import MockBehaviour, _Responses


@asynccontextmanager
async def dribbling_server(response: bytes, piece: int) -> AsyncIterator[int]:
    """Answers every request with ``response`` written ``piece`` bytes at a time."""

    handlers: set[asyncio.Task[None]] = set()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        handlers.add(asyncio.current_task())  # type: ignore[arg-type]
        try:
            while True:
                await reader.readuntil(b"\r\n\r\n")
                await reader.readexactly(2)  # the request body: b"{}"
                for start in range(0, len(response), piece):
                    writer.write(response[start : start + piece])
                    await writer.drain()
                    await asyncio.sleep(0)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the client hung up
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()
        await asyncio.wait_for(asyncio.gather(*handlers), timeout=2.0)


async def exchange(port: int) -> tuple[int, int, bool, bool]:
    connection = await ClientConnection.open("127.0.0.1", port)
    try:
        request = build_request("127.0.0.1", port, "/x", b"{}")
        response = await connection.exchange(request, timeout_s=5.0)
    finally:
        connection.close()
    return response.status, response.data_events, response.done_marker, response.has_choices


@pytest.mark.parametrize("piece", [1, 3, 7, 4096])
async def test_split_stream_counts_every_event_once(piece: int):
    responses = _Responses(MockBehaviour(chunks=5))
    async with dribbling_server(responses.stream_all, piece) as port:
        assert await exchange(port) == (200, 7, True, True)


@pytest.mark.parametrize("piece", [1, 5, 4096])
async def test_split_json_body_is_recognised(piece: int):
    responses = _Responses(MockBehaviour())
    async with dribbling_server(responses.json, piece) as port:
        assert await exchange(port) == (200, 0, False, True)


async def test_a_server_that_hangs_up_fails_the_exchange():
    async with dribbling_server(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nab", 100) as port:
        connection = await ClientConnection.open("127.0.0.1", port)
        request = build_request("127.0.0.1", port, "/x", b"{}")
        with pytest.raises(RequestFailed) as failure:
            await connection.exchange(request, timeout_s=0.3)
    assert failure.value.kind in {"timeout", "disconnected"}
