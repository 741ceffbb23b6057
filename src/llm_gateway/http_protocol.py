"""uvicorn's httptools protocol with a deadline for receiving each request.

uvicorn limits only the idle time between requests (``timeout_keep_alive``). A client that
connects and sends nothing, or half a request head, or a body slower than a trickle, holds its
connection (and, once the head is in, a handler task waiting for the body) for as long as it
likes: a few thousand such clients use up the process's file descriptors and the gateway stops
accepting anyone (slowloris).

:class:`GatewayHttpProtocol` gives each request ``GATEWAY_REQUEST_RECEIVE_TIMEOUT_S`` seconds to
arrive in full, head and body, counted from the connection's opening for the first request and
from its first byte for the next ones. Past that, the client gets a 408 in the gateway's error
shape (or, when an answer has already begun, nothing more) and the connection is closed; a
handler waiting for the body then sees the client as gone. Time spent answering is not counted,
nor time during which the server itself does not read (a pipelined request waiting its turn).

One loop timer per connection, re-armed only when it fires: a request costs two attribute
writes and one clock read.

Request heads are bounded before anything is parsed into memory: uvicorn keeps the request line
and every header of a head it is still receiving, and httptools keeps an unfinished header, so a
client that sends an endless head (no auth needed) would grow the process without limit. Bytes
are counted as they arrive, up to the blank line that ends the head: past
``GATEWAY_MAX_HEADER_BYTES`` (64 KiB) in all, past a quarter of that for the request line or any
one header, or past ``GATEWAY_MAX_HEADER_COUNT`` headers, the client gets a 431 in the gateway's
error shape and the connection is closed. A connection then holds at most the limit plus one
socket read. ``llm-gateway serve`` runs uvicorn with ``http=GatewayHttpProtocol``.
"""

from __future__ import annotations

from typing import Any

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from llm_gateway.http_errors import error_body


class GatewayHttpProtocol(HttpToolsProtocol):
    """HttpToolsProtocol plus the receive deadline (``receive_timeout_s``; None: settings)."""

    receive_timeout_s: float | None = None
    max_header_bytes: int | None = None
    max_header_count: int | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        timeout, head_bytes, head_count = (
            self.receive_timeout_s,
            self.max_header_bytes,
            self.max_header_count,
        )
        if timeout is None or head_bytes is None or head_count is None:
            from llm_gateway.settings import get_settings

            settings = get_settings()
            timeout = timeout or settings.GATEWAY_REQUEST_RECEIVE_TIMEOUT_S
            head_bytes = head_bytes or settings.GATEWAY_MAX_HEADER_BYTES
            head_count = head_count or settings.GATEWAY_MAX_HEADER_COUNT
        self._receive_timeout: float = timeout
        self._receiving_since: float | None = None
        self._receive_timer: Any = None
        self._cycle_before: Any = None  # self.cycle when the request being received began
        self._head = HeadLimits(head_bytes, head_count)

    # -- head limits ------------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        problem = self._head.received(data)
        if problem is not None:
            self._refuse_head(problem)
            return
        super().data_received(data)

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        if len(self.url) > self._head.max_line_bytes:
            self._head.problem = (
                f"the request line is longer than {self._head.max_line_bytes} bytes"
            )
            raise _HeadTooLarge

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head.problem = self._head.header(name, value)
        if self._head.problem is not None:
            raise _HeadTooLarge
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._head.complete()
        super().on_headers_complete()

    def send_400_response(self, msg: str) -> None:
        # uvicorn answers any parser error with a 400; a head refused by a limit gets its 431.
        if self._head.problem is not None:
            self._refuse_head(self._head.problem)
            return
        super().send_400_response(msg)

    def _refuse_head(self, problem: str) -> None:
        if self.transport.is_closing():
            return
        cycle = self.cycle
        if cycle is None or cycle.response_complete or cycle is self._cycle_before:
            self.transport.write(_head_too_large_response(problem))
        self.transport.close()

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self._receiving_since = self.loop.time()
        self._receive_timer = self.loop.call_later(self._receive_timeout, self._check_receive)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._receive_timer is not None:
            self._receive_timer.cancel()
            self._receive_timer = None
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._cycle_before = self.cycle
        if self._receiving_since is None:
            self._receiving_since = self.loop.time()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._receiving_since = None
        self._head.begin()

    def _check_receive(self) -> None:
        self._receive_timer = None
        if self.transport.is_closing():
            return
        now = self.loop.time()
        since = self._receiving_since
        if since is not None and self.flow.read_paused:
            since = self._receiving_since = now  # the server is not reading: not the client's time
        if since is not None and now - since >= self._receive_timeout:
            self._time_out()
            return
        due = self._receive_timeout if since is None else since + self._receive_timeout - now
        self._receive_timer = self.loop.call_later(due, self._check_receive)

    def _time_out(self) -> None:
        # A 408 only where no answer is under way: never inside another request's response,
        # never a second answer to a request already answered (a 413 whose body still trickles).
        cycle = self.cycle
        if cycle is self._cycle_before:  # the head is not complete: the request has no cycle
            answer = cycle is None or cycle.response_complete
        else:
            answer = not cycle.response_started
        if answer:
            self.transport.write(_timeout_response(self._receive_timeout))
        self.transport.close()


def _timeout_response(timeout_s: float) -> bytes:
    body = orjson.dumps(
        error_body(
            "invalid_request_error",
            f"the request was not received in full within {timeout_s:g} s",
            code="request_timeout",
        )
    )
    head = (
        b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
        b"content-length: %d\r\nconnection: close\r\n\r\n" % len(body)
    )
    return head + body


class _HeadTooLarge(Exception):
    """Raised inside a parser callback to stop parsing a head that broke a limit: httptools
    turns it into an HttpParserError, on which uvicorn calls ``send_400_response``."""


class HeadLimits:
    """Counts one connection's request head as it arrives; ``problem`` says which limit broke.

    ``received(data)`` counts the bytes of ``data`` that belong to the head being received (up
    to the blank line that ends it) and returns the problem once the total passes
    ``max_bytes``; ``header()`` checks one complete header against the per-line and count
    limits. Bytes after the end of a head (the body, a pipelined request) are not counted.
    """

    __slots__ = (
        "_in_head",
        "_tail",
        "count",
        "max_bytes",
        "max_count",
        "max_line_bytes",
        "problem",
        "size",
    )

    def __init__(self, max_bytes: int, max_count: int) -> None:
        self.max_bytes = max_bytes
        self.max_count = max_count
        self.max_line_bytes = max(1024, max_bytes // 4)
        self.problem: str | None = None
        self.begin()

    def begin(self) -> None:
        """A new head starts (connection opened, or the previous request fully received)."""
        self._in_head = True
        self._tail = b""
        self.size = 0
        self.count = 0

    def complete(self) -> None:
        self._in_head = False

    def received(self, data: bytes) -> str | None:
        if not self._in_head:
            return None
        self.size += _head_part(self._tail, data)
        self._tail = (self._tail + data[-3:])[-3:]
        if self.size > self.max_bytes:
            self.problem = f"the request head is larger than {self.max_bytes} bytes"
        return self.problem

    def header(self, name: bytes, value: bytes) -> str | None:
        self.count += 1
        if self.count > self.max_count:
            return f"the request has more than {self.max_count} header fields"
        if len(name) + len(value) > self.max_line_bytes:
            return f"a header field is longer than {self.max_line_bytes} bytes"
        return None


def _head_part(tail: bytes, data: bytes) -> int:
    """How many bytes of ``data`` belong to a head whose last received bytes were ``tail``:
    up to and including the blank line that ends it, else all of them."""
    joined = tail + data
    ends = [i + len(mark) for mark in (b"\r\n\r\n", b"\n\n") if (i := joined.find(mark)) >= 0]
    if not ends:
        return len(data)
    return max(0, min(ends) - len(tail))


def _head_too_large_response(problem: str) -> bytes:
    body = orjson.dumps(
        error_body(
            "invalid_request_error",
            problem,
            code="request_header_fields_too_large",
        )
    )
    head = (
        b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: application/json\r\n"
        b"content-length: %d\r\nconnection: close\r\n\r\n" % len(body)
    )
    return head + body
