"""A scriptable HTTP/1.1 upstream on 127.0.0.1 for provider tests (raw asyncio, no framework).

Each test passes a handler ``async (request, writer) -> None`` that writes whatever bytes it wants,
when it wants: a clean answer, nothing at all, half a chunk, a hang-up. The server records every
request and counts connections, so tests can check what was sent and whether keep-alive held.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    body: bytes
    reader: asyncio.StreamReader | None = field(default=None, repr=False)

    async def wait_for_hangup(self) -> bool:
        """Block until the client closes the connection; True when it did."""
        assert self.reader is not None
        return await self.reader.read() == b""

    def json(self) -> Any:
        return orjson.loads(self.body)


Handler = Callable[[Request, asyncio.StreamWriter], Awaitable[None]]


@dataclass
class Upstream:
    """The running server: ``url`` is the base URL (``.../v1``)."""

    handler: Handler
    requests: list[Request] = field(default_factory=list)
    connections: int = 0
    closed_by_client: int = 0
    _server: asyncio.Server | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    _scheme: str = "http"

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def url(self) -> str:
        return f"{self._scheme}://127.0.0.1:{self.port}/v1"

    async def start(self, tls: ssl.SSLContext | None = None) -> Upstream:
        """Listen on 127.0.0.1 (an ephemeral port), over TLS when ``tls`` is given."""
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=tls)
        self._scheme = "https" if tls is not None else "http"
        return self

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections += 1
        try:
            while True:
                request = await _read_request(reader)
                if request is None:
                    self.closed_by_client += 1
                    return
                self.requests.append(request)
                await self.handler(request, writer)
                await writer.drain()
                if writer.is_closing():
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            self.closed_by_client += 1
        finally:
            self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


async def _read_request(reader: asyncio.StreamReader) -> Request | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return Request(method, path, headers, body, reader)


# ---------------------------------------------------------------- response builders


def response(status: int, body: bytes | Any = b"", headers: dict[str, str] | None = None) -> bytes:
    """A complete response with Content-Length; non-bytes bodies are sent as JSON."""
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    kind = "application/json" if not isinstance(body, bytes) else "text/plain"
    all_headers = {"Content-Type": kind, **(headers or {}), "Content-Length": str(len(raw))}
    head = "".join(f"{k}: {v}\r\n" for k, v in all_headers.items())
    return f"HTTP/1.1 {status} X\r\n{head}\r\n".encode() + raw


def sse_head(headers: dict[str, str] | None = None) -> bytes:
    """Status line and headers of a chunked event stream."""
    all_headers = {"Content-Type": "text/event-stream", "Transfer-Encoding": "chunked"}
    all_headers.update(headers or {})
    head = "".join(f"{k}: {v}\r\n" for k, v in all_headers.items())
    return f"HTTP/1.1 200 OK\r\n{head}\r\n".encode()


def frame(data: bytes) -> bytes:
    """One HTTP/1.1 chunk."""
    return b"%x\r\n%s\r\n" % (len(data), data)


def event(payload: Any) -> bytes:
    """One SSE data event (already a chunk); bytes are sent as the data verbatim."""
    data = payload if isinstance(payload, bytes) else orjson.dumps(payload)
    return frame(b"data: " + data + b"\n\n")


END = b"0\r\n\r\n"
DONE = frame(b"data: [DONE]\n\n")


def delta(content: str | None = None, finish: str | None = None, **extra: Any) -> dict[str, Any]:
    """A chat.completion.chunk with one choice."""
    d: dict[str, Any] = {} if content is None else {"content": content}
    chunk: dict[str, Any] = {
        "id": "gen-1",
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": d, "finish_reason": finish}],
    }
    chunk.update(extra)
    return chunk
