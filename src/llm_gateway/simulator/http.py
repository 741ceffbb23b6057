"""A small, fast HTTP/1.1 server: an asyncio Protocol around httptools' parser.

Keep-alive, requests on one connection answered in order (pipelining included), chunked
responses for streams, write flow control, and the two ways a connection can die on purpose:
:meth:`Connection.close` (FIN after what was written) and :meth:`Connection.reset` (RST).
A handler either answers synchronously (returns None: the fast path, no task) or returns an
awaitable that the connection runs as a task and cancels if the client goes away.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import struct
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import httptools

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 32 * 1024 * 1024
_REASONS = {status.value: status.phrase.encode() for status in HTTPStatus}
_LINGER_RESET = struct.pack("ii", 1, 0)


@dataclass(slots=True)
class HttpRequest:
    method: str
    path: str
    query: str
    headers: dict[str, str]  # names lower-cased
    body: bytes
    keep_alive: bool


Handler = Callable[[HttpRequest, "Connection"], Awaitable[None] | None]


def frame(data: bytes) -> bytes:
    """One chunk of a chunked body."""
    return b"%x\r\n%s\r\n" % (len(data), data)


def head(
    status: int,
    content_type: bytes,
    headers: Iterable[tuple[str, str]],
    keep_alive: bool,
    length: int | None,
) -> bytes:
    """A response head; ``length=None`` means a chunked body."""
    lines = [
        b"HTTP/1.1 %d %s\r\ncontent-type: %s\r\n"
        % (status, _REASONS.get(status, b""), content_type)
    ]
    if length is None:
        lines.append(b"cache-control: no-cache\r\ntransfer-encoding: chunked\r\n")
    else:
        lines.append(b"content-length: %d\r\n" % length)
    for name, value in headers:
        lines.append(f"{name}: {value}\r\n".encode("latin-1"))
    if not keep_alive:
        lines.append(b"connection: close\r\n")
    lines.append(b"\r\n")
    return b"".join(lines)


class Connection(asyncio.Protocol):
    """One client connection. Not for use outside the server's event loop."""

    def __init__(self, handler: Handler, registry: set[Connection]) -> None:
        self._handler = handler
        self._registry = registry
        self._parser = httptools.HttpRequestParser(self)
        self._transport: asyncio.Transport | None = None
        self._url = b""
        self._headers: dict[str, str] = {}
        self._body: list[bytes] = []
        self._size = 0
        self._queue: deque[HttpRequest] = deque()
        self._task: asyncio.Future[None] | None = None
        self._closed = False
        self._closed_waiter: asyncio.Future[None] | None = None
        self._write_paused = False
        self._drain_waiter: asyncio.Future[None] | None = None

    # asyncio callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]
        self._registry.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        self._registry.discard(self)
        if self._task is not None:
            self._task.cancel()
        for waiter in (self._drain_waiter, self._closed_waiter):
            if waiter is not None and not waiter.done():
                waiter.set_result(None)

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError:
            self.write(head(400, b"text/plain", (), False, 0))
            self.close()

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        if self._drain_waiter is not None and not self._drain_waiter.done():
            self._drain_waiter.set_result(None)

    # httptools callbacks

    def on_message_begin(self) -> None:
        self._url = b""
        self._headers = {}
        self._body = []
        self._size = 0

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_body(self, body: bytes) -> None:
        self._size += len(body)
        if self._size <= MAX_BODY_BYTES:
            self._body.append(body)

    def on_message_complete(self) -> None:
        path, _, query = self._url.decode("latin-1").partition("?")
        method = self._parser.get_method().decode("latin-1")
        keep_alive = self._parser.should_keep_alive()
        if self._size > MAX_BODY_BYTES:
            self.write(head(413, b"text/plain", (), False, 0))
            self.close()
            return
        body = b"".join(self._body)
        self._queue.append(HttpRequest(method, path, query, self._headers, body, keep_alive))
        self._pump()

    # request dispatch

    def _pump(self) -> None:
        while self._queue and self._task is None and not self._closed:
            request = self._queue.popleft()
            try:
                pending = self._handler(request, self)
            except Exception:
                logger.exception("simulator handler failed")
                self.write(head(500, b"text/plain", (), False, 0))
                self.close()
                return
            if pending is not None:
                self._task = asyncio.ensure_future(pending)
                self._task.add_done_callback(self._handler_done)

    def _handler_done(self, task: asyncio.Future[None]) -> None:
        self._task = None
        if not task.cancelled() and task.exception() is not None:
            logger.error("simulator handler failed", exc_info=task.exception())
            self.close()
            return
        self._pump()

    # writing

    @property
    def closed(self) -> bool:
        return self._closed or self._transport is None or self._transport.is_closing()

    def write(self, data: bytes) -> None:
        if not self.closed and data:
            self._transport.write(data)  # type: ignore[union-attr]

    def respond(
        self,
        status: int,
        body: bytes,
        keep_alive: bool,
        headers: Iterable[tuple[str, str]] = (),
        content_type: bytes = b"application/json",
    ) -> None:
        """A whole response; closes the connection afterwards unless ``keep_alive``."""
        self.write(head(status, content_type, headers, keep_alive, len(body)) + body)
        if not keep_alive:
            self.close()

    async def drain(self) -> None:
        """Wait until the transport's write buffer is below its high-water mark."""
        if self._write_paused and not self.closed:
            self._drain_waiter = asyncio.get_running_loop().create_future()
            await self._drain_waiter

    async def wait_closed(self, limit_s: float) -> None:
        """Wait until the client closes the connection, at most ``limit_s`` seconds."""
        if self.closed:
            return
        self._closed_waiter = asyncio.get_running_loop().create_future()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._closed_waiter), limit_s)

    def close(self) -> None:
        """Close after flushing what was written (the client sees EOF)."""
        if self._transport is not None and not self._transport.is_closing():
            self._transport.close()

    def reset(self) -> None:
        """Drop the connection with a TCP RST (the client sees 'connection reset')."""
        if self._transport is None or self._transport.is_closing():
            return
        sock: Any = self._transport.get_extra_info("socket")
        # Without SO_LINGER (unlikely) the abort is a FIN: still a broken exchange for the client.
        with contextlib.suppress(OSError, AttributeError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
        self._transport.abort()

    def abort(self) -> None:
        """Drop the connection at once (server shutdown)."""
        if self._transport is not None:
            self._transport.abort()


class HttpServer:
    """Listens on ``host:port`` (0: an ephemeral port) and serves ``handler``."""

    def __init__(self, handler: Handler) -> None:
        self._handler = handler
        self._connections: set[Connection] = set()
        self._server: asyncio.Server | None = None
        self.port = 0

    async def start(self, host: str, port: int) -> int:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: Connection(self._handler, self._connections),
            host,
            port,
            backlog=4096,
            reuse_address=True,
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    @property
    def connection_count(self) -> int:
        return len(self._connections)

    async def stop(self) -> None:
        """Stop listening and drop every open connection."""
        if self._server is None:
            return
        self._server.close()
        for connection in list(self._connections):
            connection.abort()
        await self._server.wait_closed()
        self._server = None
