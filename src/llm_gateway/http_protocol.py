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
writes and one clock read. ``llm-gateway serve`` runs uvicorn with ``http=GatewayHttpProtocol``.
"""

from __future__ import annotations

from typing import Any

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from llm_gateway.http_errors import error_body


class GatewayHttpProtocol(HttpToolsProtocol):
    """HttpToolsProtocol plus the receive deadline (``receive_timeout_s``; None: settings)."""

    receive_timeout_s: float | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        timeout = self.receive_timeout_s
        if timeout is None:
            from llm_gateway.settings import get_settings

            timeout = get_settings().GATEWAY_REQUEST_RECEIVE_TIMEOUT_S
        self._receive_timeout: float = timeout
        self._receiving_since: float | None = None
        self._receive_timer: Any = None
        self._cycle_before: Any = None  # self.cycle when the request being received began

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
