"""``GatewayMiddleware``: ids, timing, access log and a request body limit, as pure ASGI.

For every HTTP request it

- picks the trace id (``X-Trace-Id``, else W3C ``traceparent``, else a new one) and a request id,
  stores both in ``scope["state"]`` (so ``request.state.trace_id`` works in handlers) and returns
  them as ``X-Trace-Id`` / ``X-Request-Id`` response headers (unless the handler set them),
  with ``Server-Timing`` giving the milliseconds until the response started;
- refuses a body larger than ``max_body_bytes`` with 413 in the gateway's error shape: at once
  when ``Content-Length`` says so, else as soon as the streamed body passes the limit (the
  connection stays open and the server drops the rest of the body, so the client can read the
  413; only a client waiting for ``100 Continue`` is answered with ``Connection: close``);
- writes one structured access-log record per request on the ``llm_gateway.access`` logger: at
  DEBUG, or at INFO for a sampled fraction (``access_log_sample_rate``), and at WARNING for 5xx.
  Nothing is formatted when nothing is logged, so the hot path pays almost nothing.

It never buffers a response, so streams pass through untouched.
"""

from __future__ import annotations

import logging
import random
import time
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from llm_gateway.errors import PayloadTooLarge
from llm_gateway.log_context import REQUEST_ID, TRACE_ID
from llm_gateway.middleware.trace_context import ids_from_raw_headers

access_logger = logging.getLogger("llm_gateway.access")

DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024


class GatewayMiddleware:
    """Pure ASGI. ``app.add_middleware(GatewayMiddleware)`` reads its limits from the settings."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int | None = None,
        access_log_sample_rate: float | None = None,
    ) -> None:
        self.app = app
        if max_body_bytes is None or access_log_sample_rate is None:
            from llm_gateway.settings import get_settings

            settings = get_settings()
            if max_body_bytes is None:
                max_body_bytes = settings.GATEWAY_MAX_BODY_BYTES
            if access_log_sample_rate is None:
                access_log_sample_rate = settings.GATEWAY_ACCESS_LOG_SAMPLE_RATE
        self.max_body_bytes = max_body_bytes
        self.sample_rate = access_log_sample_rate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        trace_id, request_id, length = ids_from_raw_headers(scope["headers"])
        state = scope.get("state")
        if state is None:
            state = scope["state"] = {}
        state["trace_id"] = trace_id
        state["request_id"] = request_id
        trace_token = TRACE_ID.set(trace_id)
        request_token = REQUEST_ID.set(request_id)
        request_header = (b"x-request-id", request_id.encode())
        trace_header = (b"x-trace-id", trace_id.encode())
        outcome = _Outcome()

        async def send_with_ids(message: Message) -> None:
            if message["type"] == "http.response.start":
                outcome.status = message["status"]
                elapsed = (time.perf_counter() - started) * 1000
                timing = (b"server-timing", b"gateway;dur=%.3f" % elapsed)
                headers = list(message.get("headers", ()))
                if not any(name == b"x-trace-id" for name, _ in headers):
                    headers.append(trace_header)
                headers += (request_header, timing)
                message["headers"] = headers
            await send(message)

        try:
            if length is not None and length > self.max_body_bytes:
                # Refused unread. A client waiting for "100 Continue" has sent nothing and is
                # done with the connection; any other one is sending its body (see _send_error).
                exc = PayloadTooLarge(self._too_large_message(), param="body")
                await _send_error(send_with_ids, exc, close=_expects_continue(scope["headers"]))
                return
            await self.app(scope, self._limited(receive), send_with_ids)
        except PayloadTooLarge as exc:
            if outcome.status is not None:
                raise
            await _send_error(send_with_ids, exc)
        finally:
            self._log(scope, outcome.status, started, trace_id, request_id)
            TRACE_ID.reset(trace_token)
            REQUEST_ID.reset(request_token)

    def _limited(self, receive: Receive) -> Receive:
        limit = self.max_body_bytes
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise PayloadTooLarge(self._too_large_message(), param="body")
            return message

        return limited_receive

    def _too_large_message(self) -> str:
        return f"request body larger than the limit of {self.max_body_bytes} bytes"

    def _log(
        self, scope: Scope, status: int | None, started: float, trace_id: str, request_id: str
    ) -> None:
        if status is not None and status >= 500:
            level = logging.WARNING
        elif self.sample_rate > 0 and random.random() < self.sample_rate:
            level = logging.INFO
        elif access_logger.isEnabledFor(logging.DEBUG):
            level = logging.DEBUG
        else:
            return
        if not access_logger.isEnabledFor(level):
            return
        client = scope.get("client")
        record = {
            "method": scope.get("method"),
            "path": scope.get("path"),
            "status": status,
            "duration_ms": round((time.perf_counter() - started) * 1000, 3),
            "trace_id": trace_id,
            "request_id": request_id,
            "client": client[0] if client else None,
        }
        access_logger.log(level, "%s", orjson.dumps(record).decode(), extra={"access": record})


class _Outcome:
    __slots__ = ("status",)

    def __init__(self) -> None:
        self.status: int | None = None


async def _send_error(send: Send, exc: PayloadTooLarge, *, close: bool = False) -> None:
    # "Connection: close" only when asked: closing while the client is still sending its body
    # makes the kernel answer the unread bytes with a reset, which can destroy the 413 before
    # the client reads it (httpx's async client, hence AsyncOpenAI, then reports a connection
    # error and retries). Kept open, the server reads the rest of the body and drops it.
    body = orjson.dumps(exc.to_dict())
    headers: list[Any] = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": exc.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _expects_continue(headers: Any) -> bool:
    return any(name == b"expect" and value.lower() == b"100-continue" for name, value in headers)
