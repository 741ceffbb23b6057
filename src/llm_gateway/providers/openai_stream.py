"""One streamed Chat Completions answer, read as SSE and yielded as :class:`StreamChunk`.

Contract (what the gateway relies on):

- nothing is sent until the first ``__anext__``; errors before the stream (status, headers
  deadline, connect) are raised from it;
- the first content-bearing chunk must arrive within ``first_token_s`` of the send — SSE comments
  (``: OPENROUTER PROCESSING``) and role-only or usage-only chunks do not count — and afterwards
  each next chunk within ``stall_s`` of the caller asking for it; both capped by ``deadline_at``;
  expiry raises ProviderTimeout and drops the connection;
- ``data: [DONE]`` ends the stream; so does the end of the body without it (the gateway finalises);
- a chunk that is not a JSON object is skipped and counted in ``malformed_chunks``, unless it is
  the last thing before the body ends (a cut): ProviderStreamError;
- a chunk with a top-level ``error`` or ``finish_reason: "error"`` (OpenRouter's mid-stream error,
  https://openrouter.ai/docs/api/reference/streaming#handling-errors-during-streaming) raises
  ProviderStreamError with the upstream message; ``finish_reason: "content_filter"`` raises
  ContentFiltered; a broken connection raises ProviderStreamError;
- the connection returns to the pool only after a complete body; on error, cancellation or
  ``aclose()`` it is closed. Callers that stop early must ``aclose()`` (or use ``async with``).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from typing import TYPE_CHECKING, Any

import orjson

from llm_gateway.errors import ContentFiltered, ProviderError, ProviderStreamError
from llm_gateway.providers.base import ProviderRequest, StreamChunk, Usage
from llm_gateway.providers.deadlines import Deadline
from llm_gateway.providers.errors_map import stream_error_from_event
from llm_gateway.providers.sse import EventTooLarge, SSEDecoder
from llm_gateway.providers.transport import (
    BodyStream,
    DeadlinePassed,
    TransportError,
    read_capped,
)

if TYPE_CHECKING:
    from llm_gateway.providers.openai_compatible import OpenAICompatibleProvider

logger = logging.getLogger(__name__)

DONE = b"[DONE]"
DRAIN_AFTER_DONE_S = 0.1  # the body's last bytes follow [DONE] at once; wait no longer to reuse
MAX_DRAIN_BYTES = 64 * 1024
MAX_JSON_BODY_BYTES = 64 * 1024  # a JSON answer where a stream was asked for: an error object


class ChunkStream:
    """Async iterator of one stream's chunks; also an async context manager that closes it."""

    def __init__(self, provider: OpenAICompatibleProvider, request: ProviderRequest) -> None:
        self._provider = provider
        self._request = request
        self._labels = provider.labels(request)
        self._body: BodyStream | None = None
        self._decoder = SSEDecoder(provider.endpoint.max_body_bytes)
        self._events: deque[bytes] = deque()
        self._first_token = Deadline(request.deadline_at, "")
        self._stall_message = ""
        self._got_token = False
        self._eof = False
        self._done = False
        self._finished = False
        self._last_malformed = False
        self.malformed_chunks = 0
        self.request_id: str | None = None

    def __aiter__(self) -> ChunkStream:
        return self

    async def __aenter__(self) -> ChunkStream:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    @property
    def buffered(self) -> bool:
        """True when the next chunk is already received (taking it needs no I/O)."""
        return bool(self._events)

    @property
    def comments(self) -> int:
        """SSE comment lines (keep-alives) seen so far."""
        return self._decoder.comments

    async def __anext__(self) -> StreamChunk:
        if self._finished:
            raise StopAsyncIteration
        try:
            if self._body is None:
                await self._open()
            while True:
                while self._events:
                    chunk = self._chunk_of(self._events.popleft())
                    if chunk is not None:
                        return chunk
                if self._done:
                    await self._release_after_done()
                    raise StopAsyncIteration
                if self._eof:
                    self._end_of_body()
                    raise StopAsyncIteration
                # Set when a read is due: buffered events are returned without touching clocks.
                await self._read(self._next_deadline())
        except StopAsyncIteration:
            raise
        except BaseException:
            self._abort()  # errors, timeouts and the caller's cancellation: drop the connection
            raise

    async def aclose(self) -> None:
        """Stop reading and drop the connection (unless the stream already ended cleanly)."""
        if not self._finished:
            self._abort()

    # ------------------------------------------------------------------ steps

    async def _open(self) -> None:
        body, started = await self._provider.open_stream(self._request)
        self._body = body
        headers = body.headers
        self.request_id = headers.get("x-request-id") or headers.get("x-generation-id")
        limits = self._request.deadlines
        self._first_token = Deadline.within(
            started,
            limits.first_token_s if limits.first_token_s is not None else float("inf"),
            self._request.deadline_at,
            f"no first token within {limits.first_token_s} s",
            "the first token",
        )
        self._stall_message = f"stream stalled: no chunk for {limits.stall_s} s"
        if _media_type(headers.get("content-type")) == "application/json":
            raise await self._json_instead_of_stream(body)

    def _next_deadline(self) -> Deadline:
        if not self._got_token:
            return self._first_token
        stall_s = self._request.deadlines.stall_s
        return Deadline.within(
            time.monotonic(),
            stall_s if stall_s is not None else float("inf"),
            self._request.deadline_at,
            self._stall_message,
            "the next chunk",
        )

    async def _read(self, deadline: Deadline) -> None:
        assert self._body is not None
        try:
            if deadline.remaining() <= 0:
                raise DeadlinePassed(deadline)
            data = await self._body.read(deadline)
        except TransportError as exc:
            raise self._provider.failure(exc, self._request, in_stream=True) from None
        try:
            if data:
                self._events.extend(self._decoder.feed(data))
                return
            self._eof = True
            tail = self._decoder.finish()
        except EventTooLarge as exc:
            raise ProviderStreamError(f"{self._provider.name}: {exc}", **self._labels) from None
        if tail is not None:
            self._events.append(tail)

    def _chunk_of(self, data: bytes) -> StreamChunk | None:
        """The chunk of one event, None for [DONE] and skipped chunks; raises error events.

        Runs once per token: kept flat, and every field checked for its type (never trusted).
        """
        if data == DONE:
            self._done = True
            self._events.clear()
            return None
        try:
            payload = orjson.loads(data)
        except orjson.JSONDecodeError:
            return self._skip_malformed(data)
        # Well formed: a JSON object whose ``choices``, when present and not empty (usage and
        # error chunks have none), is a list of objects. Inlined: this runs once per token.
        if type(payload) is not dict:
            return self._skip_malformed(data)
        choices = payload.get("choices")
        choice = None
        if choices:
            if type(choices) is not list or type(choices[0]) is not dict:
                return self._skip_malformed(data)
            choice = choices[0]
        elif choices is not None and choices != []:
            return self._skip_malformed(data)
        self._last_malformed = False
        if payload.get("error"):
            raise self._error_event(payload)
        content, finish = "", None
        if choice is not None:
            delta = choice.get("delta")
            if type(delta) is dict:
                text = delta.get("content")
                if type(text) is str:
                    content = text
            reason = choice.get("finish_reason")
            if reason is not None:
                finish = reason if isinstance(reason, str) else None
                if finish in ("error", "content_filter"):
                    raise self._error_event(payload)
        usage = payload.get("usage")
        chunk = StreamChunk(payload, content, finish, safe_usage(usage) if usage else None)
        if not self._got_token and chunk.has_payload:
            self._got_token = True
        return chunk

    def _skip_malformed(self, data: bytes) -> StreamChunk | None:
        """Count a chunk that is not a well-formed chunk object; None: nothing to yield."""
        self.malformed_chunks += 1
        self._last_malformed = True
        logger.debug(
            "%s: skipped a malformed stream chunk (%d bytes)", self._provider.name, len(data)
        )
        return None

    def _error_event(self, payload: dict[str, Any]) -> ProviderError:
        error = stream_error_from_event(
            payload,
            model=self._provider_model(),
            provider=self._provider.name,
            secret=self._provider.secret,
        )
        error.model = self._labels["model"]
        if not isinstance(error, ContentFiltered):
            self._provider.note_failure(error.message)
        return error

    def _end_of_body(self) -> None:
        if self._last_malformed:
            raise ProviderStreamError(
                f"{self._provider.name}: stream of model {self._provider_model()} ended right "
                "after a malformed chunk (the body was cut)",
                **self._labels,
            )
        self._finish(reuse=True)

    async def _release_after_done(self) -> None:
        """After [DONE], read the body's last bytes so the connection can be reused."""
        body = self._body
        assert body is not None
        if body.at_eof:
            self._finish(reuse=True)  # the usual case: the end came with [DONE]
            return
        deadline = Deadline(time.monotonic() + DRAIN_AFTER_DONE_S, "")
        drained = 0
        try:
            while drained < MAX_DRAIN_BYTES:
                part = await body.read(deadline)
                if not part:
                    break
                drained += len(part)
        except TransportError:
            self._finish(reuse=False)
            return
        self._finish(reuse=True)

    async def _json_instead_of_stream(self, body: BodyStream) -> ProviderError:
        """A JSON body where an event stream was asked for: an error object, or unusable."""
        try:
            raw = await read_capped(body, self._first_token, MAX_JSON_BODY_BYTES)
            payload = orjson.loads(raw)
        except (ValueError, TransportError):  # bad JSON, timeout, broken link
            payload = None
        if isinstance(payload, dict) and payload.get("error"):
            return self._provider.map_payload_error(payload, self._request)
        return ProviderStreamError(
            f"{self._provider.name}: expected an event stream for model {self._provider_model()}, "
            "got application/json",
            **self._labels,
        )

    def _finish(self, *, reuse: bool) -> None:
        self._finished = True
        self._events.clear()
        if reuse:
            self._provider.note_failure(None)  # a complete stream: the provider is healthy
        if self._body is not None:
            # release() hands a fully read connection back to the pool and closes any other.
            (self._body.release if reuse else self._body.close)()

    def _abort(self) -> None:
        self._finish(reuse=False)

    def _provider_model(self) -> str:
        model = self._request.body.get("model")
        return model if isinstance(model, str) else self._request.policy.provider_model_id


def safe_usage(usage: object) -> Usage | None:
    """``Usage.from_openai``, or None when the usage object is not readable (never raises)."""
    if not isinstance(usage, dict):
        return None
    try:
        return Usage.from_openai(usage)
    except (TypeError, ValueError, ArithmeticError, AttributeError):
        return None


def _media_type(content_type: str | None) -> str:
    return content_type.split(";", 1)[0].strip().lower() if content_type else ""
