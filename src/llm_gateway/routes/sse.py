"""A raw Server-Sent Events response that stops the work when the client goes away.

:class:`SSEResponse` sends already-framed SSE bytes from an async iterator as they come, with no
buffering and no per-chunk task. A small watcher task waits for ``http.disconnect``; if the client
leaves before the end, the response's own task is cancelled (and un-cancelled once caught), the
frame iterator is closed (which must release upstream resources, e.g. ``GatewayStream.aclose``)
and the response returns quietly. Cancellation from anywhere else (server shutdown past its grace
period) propagates as usual.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, Mapping
from typing import Any

import orjson
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from llm_gateway.errors import GatewayError
from llm_gateway.http_errors import error_body
from llm_gateway.routes.disconnect import WatchState, watch_disconnect

logger = logging.getLogger("llm_gateway.http")

SSE_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
)


class LastFrame(bytes):
    """The stream's final bytes: sent together with the end of the response body (one write
    instead of two) and nothing is read from the frame iterator after it."""

    __slots__ = ()


def data_frame(payload: Mapping[str, Any]) -> bytes:
    """``data: <json>\\n\\n``"""
    return b"data: " + orjson.dumps(payload) + b"\n\n"


def event_frame(event: str, payload: Mapping[str, Any]) -> bytes:
    """``event: <name>\\ndata: <json>\\n\\n``"""
    return b"event: " + event.encode() + b"\ndata: " + orjson.dumps(payload) + b"\n\n"


def comment_frame(text: str) -> bytes:
    """``: <text>\\n\\n`` — ignored by SSE clients, readable by people and tests."""
    return b": " + text.encode() + b"\n\n"


def in_band_error(exc: Exception) -> dict[str, Any]:
    """The error event for a failure after the stream began (the status is already sent)."""
    if isinstance(exc, GatewayError):
        return exc.to_dict()
    logger.error("stream failed after it began", exc_info=exc)
    return error_body("api_error", "the stream failed; the request id identifies it in the logs")


class SSEResponse(Response):
    """An ASGI response streaming ``frames`` (bytes) as SSE with status 200.

    A :class:`LastFrame` ends the response with it (the iterator is then closed unread).

    A :class:`~starlette.responses.Response` so that FastAPI passes it through untouched; it does
    not use the parent's body rendering.
    """

    media_type = "text/event-stream"

    def __init__(
        self,
        frames: AsyncGenerator[bytes, None],
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.frames = frames
        self.status_code = 200
        self.background = None
        extra = [
            (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()
        ]
        self.raw_headers = [*SSE_HEADERS, *extra]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        task = asyncio.current_task()
        assert task is not None
        state = WatchState()
        watcher = asyncio.create_task(watch_disconnect(receive, task, state))
        try:
            last = b""
            async for frame in self.frames:
                if type(frame) is LastFrame:
                    last = frame
                    break
                await send({"type": "http.response.body", "body": frame, "more_body": True})
            state.finished = True
            await send({"type": "http.response.body", "body": bytes(last), "more_body": False})
        except asyncio.CancelledError:
            if not state.disconnected:
                raise
            task.uncancel()
        finally:
            state.finished = True
            watcher.cancel()
            await _close_quietly(self.frames)


async def _close_quietly(frames: AsyncGenerator[bytes, None]) -> None:
    # Closing runs the generator's cleanup (releasing the upstream stream); a failure there must
    # not replace the outcome the client already saw.
    with contextlib.suppress(Exception):
        await frames.aclose()
