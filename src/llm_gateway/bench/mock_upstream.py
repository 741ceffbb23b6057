"""A fast OpenAI-compatible mock upstream for the benchmark.

``POST .../chat/completions`` answers a fixed chat completion, as JSON or (when the body asks for
``"stream": true``) as ``chunks`` SSE content deltas, a final chunk with ``finish_reason`` and
``usage``, and ``data: [DONE]``. ``headers_delay_ms`` is waited before the status line (the
upstream's time to first byte); ``chunk_delay_ms`` between SSE events. Every other path answers 404.

Raw asyncio protocol plus httptools, no framework: one request costs a parse and a few writes of
prebuilt bytes, so the mock is never what limits a run (the direct run of the sweep proves it).
Run it alone with ``python -m llm_gateway.bench.mock_upstream --port N``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from dataclasses import dataclass
from typing import cast

import httptools
import orjson

MODEL = "bench-model"
CONTENT_WORDS = ("Bench", " tokens", " flow", " through", " the", " gateway")


@dataclass(frozen=True, slots=True)
class MockBehaviour:
    """How the mock answers: delays in milliseconds and the number of SSE content chunks."""

    headers_delay_ms: float = 0.0
    chunk_delay_ms: float = 0.0
    chunks: int = 20


def _json_body() -> bytes:
    content = "".join(CONTENT_WORDS[i % len(CONTENT_WORDS)] for i in range(20))
    return orjson.dumps(
        {
            "id": "chatcmpl-bench",
            "object": "chat.completion",
            "created": 1700000000,
            "model": MODEL,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 12, "completion_tokens": 20, "total_tokens": 32},
        }
    )


def _sse_event(payload: dict[str, object]) -> bytes:
    data = b"data: " + orjson.dumps(payload) + b"\n\n"
    return b"%x\r\n%s\r\n" % (len(data), data)


def _stream_events(chunks: int) -> list[bytes]:
    """The SSE events of one stream, each already framed as one HTTP chunk."""
    base = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1700000000}
    events = []
    for i in range(chunks):
        delta: dict[str, str] = {"content": CONTENT_WORDS[i % len(CONTENT_WORDS)]}
        if i == 0:
            delta["role"] = "assistant"
        choice = {"index": 0, "delta": delta, "finish_reason": None}
        events.append(_sse_event({**base, "model": MODEL, "choices": [choice]}))
    usage = {"prompt_tokens": 12, "completion_tokens": chunks, "total_tokens": 12 + chunks}
    final = {"index": 0, "delta": {}, "finish_reason": "stop"}
    events.append(_sse_event({**base, "model": MODEL, "choices": [final], "usage": usage}))
    data = b"data: [DONE]\n\n"
    events.append(b"%x\r\n%s\r\n0\r\n\r\n" % (len(data), data))
    return events


class _Responses:
    """Every byte string the mock sends, built once."""

    def __init__(self, behaviour: MockBehaviour) -> None:
        body = _json_body()
        self.json = (
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
            b"content-length: %d\r\n\r\n%s" % (len(body), body)
        )
        self.stream_head = (
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
            b"cache-control: no-cache\r\ntransfer-encoding: chunked\r\n\r\n"
        )
        self.stream_events = _stream_events(behaviour.chunks)
        self.stream_all = self.stream_head + b"".join(self.stream_events)
        missing = b'{"error":{"type":"not_found_error","message":"no such path"}}'
        self.not_found = (
            b"HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\n"
            b"content-length: %d\r\n\r\n%s" % (len(missing), missing)
        )


class MockProtocol(asyncio.Protocol):
    """One keep-alive connection. Requests on it are answered in order."""

    def __init__(self, behaviour: MockBehaviour, responses: _Responses) -> None:
        self._behaviour = behaviour
        self._responses = responses
        self._parser = httptools.HttpRequestParser(self)
        self._transport: asyncio.Transport | None = None
        self._url = b""
        self._body: list[bytes] = []
        self._loop = asyncio.get_running_loop()
        # Requests pipelined behind one still being answered wait here, in order.
        self._busy = False
        self._queue: list[tuple[bytes, bytes]] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError:
            if self._transport is not None:
                self._transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None

    # httptools callbacks
    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        request = (self._url, b"".join(self._body))
        self._url, self._body = b"", []
        if self._busy:
            self._queue.append(request)
        else:
            self._answer(*request)

    def _answer(self, url: bytes, body: bytes) -> None:
        self._busy = True
        if self._behaviour.headers_delay_ms > 0:
            self._loop.call_later(self._behaviour.headers_delay_ms / 1000, self._respond, url, body)
        else:
            self._respond(url, body)

    def _respond(self, url: bytes, body: bytes) -> None:
        transport = self._transport
        if transport is None:
            return
        if not url.endswith(b"/chat/completions"):
            transport.write(self._responses.not_found)
        elif b'"stream":true' in body or b'"stream": true' in body:
            if self._behaviour.chunk_delay_ms > 0:
                transport.write(self._responses.stream_head)
                self._send_event(0)
                return
            transport.write(self._responses.stream_all)
        else:
            transport.write(self._responses.json)
        self._done()

    def _send_event(self, index: int) -> None:
        transport = self._transport
        if transport is None:
            return
        events = self._responses.stream_events
        transport.write(events[index])
        if index + 1 < len(events):
            delay = self._behaviour.chunk_delay_ms / 1000
            self._loop.call_later(delay, self._send_event, index + 1)
        else:
            self._done()

    def _done(self) -> None:
        self._busy = False
        if self._queue:
            self._answer(*self._queue.pop(0))


async def serve_mock(host: str, port: int, behaviour: MockBehaviour) -> asyncio.Server:
    """Start listening; the caller closes the returned server."""
    responses = _Responses(behaviour)
    loop = asyncio.get_running_loop()
    return await loop.create_server(
        lambda: MockProtocol(behaviour, responses), host, port, backlog=1024, reuse_address=True
    )


async def _main(args: argparse.Namespace) -> None:
    behaviour = MockBehaviour(args.headers_delay_ms, args.chunk_delay_ms, args.chunks)
    server = await serve_mock(args.host, args.port, behaviour)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description="A fast OpenAI-compatible mock upstream.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--headers-delay-ms", type=float, default=0.0)
    parser.add_argument("--chunk-delay-ms", type=float, default=0.0)
    parser.add_argument("--chunks", type=int, default=20)
    args = parser.parse_args()
    import uvloop

    with contextlib.suppress(KeyboardInterrupt):
        uvloop.run(_main(args))


if __name__ == "__main__":
    main()
