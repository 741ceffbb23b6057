"""One HTTP/1.1 client connection: an ``asyncio.Protocol`` whose responses httptools parses.

One exchange at a time (no pipelining). The protocol keeps the state of the current exchange on
itself (status, kept headers, body parts, flags) so a request allocates almost nothing; a waiting
coroutine parks on one future, woken by the parser callbacks, with one ``loop.call_later`` timer
per wait for its Deadline (never ``asyncio.wait_for``: that creates a task per wait).

Wake-ups: a non-streaming exchange is woken only when the answer is complete (or failed); a
streaming one after every read from the socket (head or body bytes may have arrived). Failures
are kept in ``error`` and raised by :meth:`Connection.wait`; which one depends on how far the
answer got:
nothing at all on a reused connection → StaleConnection (safe to resend), before a complete head
→ ServerHungUp, inside the body → BodyCut.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import Callable

import httptools

from llm_gateway.limits.upstream_headers import HEADERS as RATE_LIMIT_HEADERS
from llm_gateway.providers.transport.deadline import Deadline
from llm_gateway.providers.transport.errors import (
    BodyCut,
    BodyTooLarge,
    DeadlinePassed,
    MalformedResponse,
    ServerHungUp,
    StaleConnection,
    TransportError,
    describe_os_error,
)

ERROR_BODY_CAP = 64 * 1024  # bytes of a non-2xx body kept (the rest is read and dropped)
PAUSE_ABOVE = 64 * 1024  # unread stream bytes above which the socket stops being read
MAX_HEAD_BYTES = 64 * 1024  # a server sending endless headers is not answering

_KEPT = {
    b"content-type": "content-type",
    b"retry-after": "retry-after",
    b"x-request-id": "x-request-id",
    b"x-generation-id": "x-generation-id",
    b"content-encoding": "content-encoding",
    # rate-limit headers, for the limiter (limits/upstream_headers.py)
    **{name.encode(): name for name in RATE_LIMIT_HEADERS},
}
_FRAMING = frozenset({b"content-length", b"transfer-encoding"})
_FOREVER = float("inf")
_NO_CAP = 1 << 62
_TIMER_SLACK_S = 0.001  # loop timers have millisecond resolution


class Connection(asyncio.Protocol):
    """A keep-alive connection owned by a pool; ``on_close`` is called exactly once."""

    # The current exchange (reset by ``_start``).
    status: int
    headers: dict[str, str]  # the kept ones, lower-case names
    parts: list[bytes]  # body bytes not yet taken
    buffered: int
    got_bytes: bool
    headers_done: bool
    complete: bool
    keep_alive: bool
    error: TransportError | None

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        on_close: Callable[[Connection], None],
        generation: int,
    ) -> None:
        self._loop = loop
        self._on_close = on_close
        self.generation = generation
        self._transport: asyncio.Transport | None = None
        self._parser = httptools.HttpResponseParser(self)
        self.closed = False
        self.pooled = False  # set by the pool once connected; closing then frees a slot
        self.reused = False  # answered before: a silent close means "stale", not "hung up"
        self.idle = False
        self.idle_since = 0.0
        self._paused = False
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = _FOREVER
        self._due: Deadline | None = None
        self.max_body = _NO_CAP  # bytes of a non-streamed 2xx body; the transport sets it
        self._start(streaming=False)
        self._busy = False

    # ------------------------------------------------------------------ the exchange

    def send(self, data: bytes, *, streaming: bool) -> None:
        """Start an exchange: reset its state and write the whole request."""
        self._start(streaming)
        if self.closed or self._transport is None:
            # Closed by the server between the pool's check and now: nothing was sent.
            self.error = (
                StaleConnection("idle connection closed by the server")
                if self.reused
                else ServerHungUp("connection closed by the server")
            )
            return
        self._transport.write(data)

    def _start(self, streaming: bool) -> None:
        self._busy = True
        self._streaming = streaming
        self.status = 0
        self.headers = {}
        self.parts = []
        self.buffered = 0
        self.got_bytes = False
        self.headers_done = False
        self.complete = False
        self.keep_alive = False
        self.error = None
        self._framed = False
        self._interim = False
        self._head_size = 0
        self._waiter: asyncio.Future[None] | None = None

    async def wait(self, deadline: Deadline) -> None:
        """Until the next wake-up. Raises the exchange's error, or DeadlinePassed."""
        if self.error is not None:
            raise self.error
        waiter = self._waiter = self._loop.create_future()
        self._due = deadline
        if self._timer is None or self._timer_at > deadline.at:
            self._arm(deadline.at)
        try:
            await waiter
        finally:
            self._waiter = None
            self._due = None
        if self.error is not None:
            raise self.error

    def _arm(self, at: float) -> None:
        """One timer per connection, moved only when a wait needs it earlier: a timer that
        fires while the current wait's deadline is later re-arms itself (creating and cancelling
        a loop timer per wait costs more than the rest of a small exchange)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if at != _FOREVER:
            self._timer = self._loop.call_later(at - time.monotonic(), self._on_timer)
            self._timer_at = at

    def _on_timer(self) -> None:
        self._timer = None
        due, waiter = self._due, self._waiter
        if due is None or waiter is None or waiter.done():
            return  # no wait pending: the next one arms again
        if due.at - time.monotonic() > _TIMER_SLACK_S:
            self._arm(due.at)
        else:
            waiter.set_exception(DeadlinePassed(due))

    def take(self) -> bytes:
        """The body bytes received so far (and forget them)."""
        parts = self.parts
        data = parts[0] if len(parts) == 1 else b"".join(parts)
        self.parts = []
        self.buffered = 0
        if self._paused and self._transport is not None:
            self._paused = False
            self._transport.resume_reading()
        return data

    @property
    def reusable(self) -> bool:
        return self.complete and self.keep_alive and not self.closed and self.error is None

    def finish(self) -> None:
        """The exchange is over (the pool calls this before keeping the connection idle)."""
        self._busy = False
        self.reused = True

    def close(self) -> None:
        """Close the socket (idempotent); the pool hears of it through ``on_close``."""
        if self._transport is not None:
            self._transport.close()
        self._closed()

    def _closed(self) -> None:
        if not self.closed:
            self.closed = True
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            self._on_close(self)

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # ------------------------------------------------------------------ asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            # Requests are written in one piece; never let Nagle hold the last segment (asyncio
            # and uvloop usually set this already; once per connection, so cheap to make sure).
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        if not self._busy or self.complete:
            # Bytes nobody asked for: the framing is lost, the connection unusable.
            self.keep_alive = False
            self.close()
            return
        self.got_bytes = True
        try:
            self._parser.feed_data(data)
        except (httptools.HttpParserError, httptools.HttpParserUpgrade) as exc:
            self.keep_alive = False
            if not self.complete:  # garbage after a complete answer only costs the connection
                cls = BodyCut if self.headers_done else MalformedResponse
                self._fail(cls(f"malformed response ({exc})"))
            self.close()
            return
        if isinstance(self.error, BodyTooLarge):
            self.keep_alive = False
            self.close()
            return
        if not self.headers_done:
            self._head_size += len(data)
            if self._head_size > MAX_HEAD_BYTES:  # aiohttp refuses long heads too
                self.keep_alive = False
                self._fail(MalformedResponse(f"response head over {MAX_HEAD_BYTES} bytes"))
                self.close()
                return
        if self._streaming:
            self._wake()  # once per read, not per callback: the reader takes all there is
            if self.buffered > PAUSE_ABOVE and not self._paused:
                assert self._transport is not None
                self._paused = True  # a slow reader: let TCP push back on the server
                self._transport.pause_reading()
        elif self.complete:
            self._wake()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._busy and not self.complete and self.error is None:
            if self.headers_done and not self._framed:
                self.complete = True  # a body delimited by the close
                self.keep_alive = False
            elif self.headers_done:
                self.error = BodyCut(f"response body incomplete ({describe_os_error(exc)})")
            elif self.reused and not self.got_bytes:
                self.error = StaleConnection("idle connection closed by the server")
            else:
                self.error = ServerHungUp(describe_os_error(exc))
        self._wake()
        self._closed()

    # ------------------------------------------------------------------ httptools callbacks

    def on_header(self, name: bytes, value: bytes) -> None:
        name = name.lower()
        kept = _KEPT.get(name)
        if kept is not None:
            self.headers[kept] = value.decode("latin-1").strip()
        elif name in _FRAMING:
            self._framed = True

    def on_headers_complete(self) -> None:
        if self.complete:  # a second answer to one request: keep the first, drop the connection
            self.keep_alive = False
            return
        status = self._parser.get_status_code()
        if status < 200:  # 100 Continue, 103 Early Hints: the real answer follows
            self._interim = True
            self.headers = {}
            self._framed = False
            return
        self.status = status
        self.keep_alive = self._parser.should_keep_alive()
        self.headers_done = True

    def on_body(self, body: bytes) -> None:
        if self.complete or self.error is not None:
            return
        if self.status >= 300:
            if self.buffered >= ERROR_BODY_CAP:
                return
        elif not self._streaming and self.buffered + len(body) > self.max_body:
            # Nothing more is kept; data_received drops the connection after this feed.
            self.parts, self.buffered = [], 0
            self._fail(BodyTooLarge(self.max_body))
            return
        self.parts.append(body)
        self.buffered += len(body)

    def on_message_complete(self) -> None:
        if self._interim or self.complete:
            self._interim = False
            return
        self.complete = True

    def _fail(self, error: TransportError) -> None:
        if self.error is None:
            self.error = error
        self._wake()
