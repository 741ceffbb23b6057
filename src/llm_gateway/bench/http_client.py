"""A lean HTTP/1.1 keep-alive client connection for the load generator.

One :class:`ClientConnection` carries one request at a time over one TCP connection, parsed by
httptools (C). It records what the benchmark needs and nothing more: the status, when the first
SSE ``data:`` event arrived, how many events came, whether the stream ended with ``[DONE]``, and
for JSON whether the body holds ``"choices"``. No header dict, no decoding: a request costs one
write and a few callbacks, so the client is never what limits a run.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import cast

import httptools

_DATA = b"data:"
_TAIL = 32


class RequestFailed(Exception):
    """The exchange did not produce a complete response; ``kind`` names why (for counting)."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


@dataclass(slots=True)
class Response:
    """What one exchange produced. ``first_data_at`` is a ``perf_counter`` value or 0."""

    status: int
    first_data_at: float
    data_events: int
    done_marker: bool
    has_choices: bool


def build_request(
    host: str, port: int, path: str, body: bytes, headers: dict[str, str] | None = None
) -> bytes:
    """The raw bytes of one ``POST`` with a JSON body, sent unchanged on every request."""
    lines = [
        f"POST {path} HTTP/1.1",
        f"Host: {host}:{port}",
        "Content-Type: application/json",
        "Accept: */*",
        f"Content-Length: {len(body)}",
    ]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class ClientConnection(asyncio.Protocol):
    """One keep-alive connection; :meth:`exchange` sends a request and awaits its response."""

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._transport: asyncio.Transport | None = None
        self._parser = httptools.HttpResponseParser(self)
        self._waiter: asyncio.Future[Response] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self.closed = False
        self._reset()

    def _reset(self) -> None:
        self._first_data_at = 0.0
        self._events = 0
        self._tail = b""
        self._status = 0

    @classmethod
    async def open(cls, host: str, port: int) -> ClientConnection:
        """Connect; raises RequestFailed("connect") when the server does not accept."""
        loop = asyncio.get_running_loop()
        try:
            _, protocol = await loop.create_connection(cls, host, port)
        except OSError as exc:
            raise RequestFailed("connect") from exc
        return protocol

    def exchange(self, request: bytes, timeout_s: float) -> asyncio.Future[Response]:
        """Send ``request``; the future resolves to the Response or fails with RequestFailed."""
        waiter: asyncio.Future[Response] = self._loop.create_future()
        if self._transport is None or self.closed:
            waiter.set_exception(RequestFailed("closed"))
            return waiter
        self._reset()
        self._waiter = waiter
        self._timer = self._loop.call_later(timeout_s, self._fail, "timeout")
        self._transport.write(request)
        return waiter

    def close(self) -> None:
        self.closed = True
        if self._transport is not None:
            self._transport.close()

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError:
            self._fail("malformed")

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        self.closed = True
        self._fail("disconnected")

    # httptools callbacks
    def on_headers_complete(self) -> None:
        self._status = self._parser.get_status_code()

    def on_body(self, body: bytes) -> None:
        # Events may be split across reads: count in the last bytes seen plus this read, minus
        # what the last bytes alone held (already counted). "data:" cannot overlap itself.
        window = self._tail + body
        found = window.count(_DATA) - self._tail.count(_DATA)
        if found:
            if self._events <= 0:
                self._first_data_at = time.perf_counter()
                self._events = 0
            self._events += found
        elif not self._events and b'"choices"' in window:
            self._events = -1  # a JSON body with choices; never an SSE count
        self._tail = window[-_TAIL:]

    def on_message_complete(self) -> None:
        waiter = self._take_waiter()
        if not self._parser.should_keep_alive():
            self.close()
        if waiter is None:
            return
        events = max(self._events, 0)
        waiter.set_result(
            Response(
                status=self._status,
                first_data_at=self._first_data_at,
                data_events=events,
                done_marker=b"[DONE]" in self._tail,
                has_choices=self._events == -1 or events > 0,
            )
        )

    def _take_waiter(self) -> asyncio.Future[Response] | None:
        waiter, self._waiter = self._waiter, None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if waiter is None or waiter.done():
            return None
        return waiter

    def _fail(self, kind: str) -> None:
        waiter = self._take_waiter()
        if waiter is not None:
            waiter.set_exception(RequestFailed(kind))
            if kind != "disconnected":
                self.close()
