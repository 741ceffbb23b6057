"""Any OpenAI Chat Completions endpoint, reached by base URL and key over one pooled transport.

This is the gateway's hot path, so it does the least work per request: the body is serialised once
with orjson and sent as bytes; request heads are prepared once per provider; one
:mod:`~llm_gateway.providers.transport` per provider keeps connections alive (the native
httptools transport; aiohttp when an HTTP(S) proxy applies, see ``docs/providers.md`` and
``bench/http_client_bench.py``); nothing is logged above DEBUG.

Deadlines of one attempt (``ProviderRequest.deadlines``, all set, plus ``deadline_at``):
``headers_s`` bounds connect + response headers; for streams ``first_token_s`` (from the send)
bounds the first content-bearing chunk and ``stall_s`` each next chunk (``openai_stream``). Expiry
raises ProviderTimeout naming the limit and drops that connection. Who closes what: ``complete``
always hands its connection back (or closes it); a stream releases its body when exhausted, and
closes it on error or ``aclose()``; ``close()`` closes the pool.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import orjson
from pydantic import SecretStr

from llm_gateway.errors import (
    ContentFiltered,
    ProviderBadRequest,
    ProviderError,
    ProviderUnavailable,
)
from llm_gateway.limits.upstream_headers import exhausted_wait
from llm_gateway.providers.base import (
    ProviderHealth,
    ProviderRequest,
    ProviderResponse,
)
from llm_gateway.providers.deadlines import Deadline, Labels, provider_error, timeout_error
from llm_gateway.providers.errors_map import (
    error_from_payload,
    error_from_response,
    is_content_filter_finish,
)
from llm_gateway.providers.openai_stream import ChunkStream, safe_usage
from llm_gateway.providers.transport import (
    DEFAULT_MAX_BODY_BYTES,
    BodyStream,
    RequestHead,
    TransportError,
    TransportKind,
    create_transport,
    read_capped,
)

USER_AGENT = "llm-gateway/0.1"
MAX_ERROR_BODY_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where and how to reach one OpenAI-compatible API. ``api_key`` None sends no Authorization
    (local servers); ``headers`` are added to every request (after the defaults, so they win)."""

    name: str
    base_url: str
    api_key: SecretStr | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    max_connections: int = 256
    keepalive_timeout_s: float = 15.0  # shorter than common server keep-alive timeouts
    path: str = "/chat/completions"
    # GATEWAY_MAX_UPSTREAM_BODY_BYTES: the largest non-streamed 2xx body, and the largest single
    # SSE event of a stream; past it the attempt fails with a 502 that does not relay the body.
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES

    def __repr__(self) -> str:
        key = "set" if self.api_key is not None else "none"
        return f"Endpoint(name={self.name!r}, base_url={self.base_url!r}, api_key={key})"


class OpenAICompatibleProvider:
    """The Provider protocol over HTTP for one :class:`Endpoint`.

    ``transport``: ``"auto"`` (the native transport, aiohttp when a proxy variable applies to
    the URL; read once, here), or ``"native"``/``"aiohttp"`` to force one.
    """

    def __init__(self, endpoint: Endpoint, *, transport: TransportKind = "auto") -> None:
        self.name = endpoint.name
        self.endpoint = endpoint
        self.url = endpoint.base_url.rstrip("/") + endpoint.path
        self._secret = endpoint.api_key.get_secret_value() if endpoint.api_key else None
        self._transport = create_transport(
            self.url,
            max_connections=endpoint.max_connections,
            idle_timeout_s=endpoint.keepalive_timeout_s,
            kind=transport,
            max_body_bytes=endpoint.max_body_bytes,
        )
        parts = urlsplit(self.url)
        self._target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._json_headers = self._prebuilt_headers("application/json")
        self._sse_headers = self._prebuilt_headers("text/event-stream")
        self._json_head = self._transport.prepare("POST", self._target, self._json_headers)
        self._sse_head = self._transport.prepare("POST", self._target, self._sse_headers)
        self._last_failure: str | None = None
        self._used = False

    def __repr__(self) -> str:
        return f"OpenAICompatibleProvider(name={self.name!r}, url={self.url!r})"

    # ------------------------------------------------------------------ the protocol

    async def complete(self, request: ProviderRequest) -> ProviderResponse:
        """The whole answer. Raises a ProviderError subclass (see ``errors_map``)."""
        headers_by, head, body = self._prepare(request, stream=False)
        body_by = Deadline(request.deadline_at, "attempt deadline reached while reading the body")
        try:
            response = await self._transport.request(head, body, headers_by, body_by)
        except TransportError as exc:
            raise self.failure(exc, request) from None
        if response.status >= 300:
            raise self._error_of(response.status, response.headers, response.body, request)
        parsed = self._parse_completion(response.body, request)
        self._note(None)
        headers = response.headers
        request_id = headers.get("x-request-id") or headers.get("x-generation-id")
        return ProviderResponse(
            body=parsed,
            usage=safe_usage(parsed.get("usage")),
            status=response.status,
            request_id=request_id or _str_or_none(parsed.get("id")),
            rate_limit_wait_s=exhausted_wait(headers),
        )

    def stream(self, request: ProviderRequest) -> ChunkStream:
        """Chunks as they arrive; nothing is sent until the first ``__anext__``."""
        return ChunkStream(self, request)

    async def health(self) -> ProviderHealth:
        """What the pool knows without calling the (paid) upstream."""
        open_connections = self._transport.open_connections()
        if not self._used:
            return ProviderHealth(self.name, "unknown", "no request yet", open_connections)
        if self._last_failure is not None:
            return ProviderHealth(self.name, "degraded", self._last_failure, open_connections)
        return ProviderHealth(self.name, "ok", "", open_connections)

    async def close(self) -> None:
        """Close the pool; a later request opens new connections. Safe to call more than once."""
        await self._transport.close()

    # ------------------------------------------------------------------ for ChunkStream

    async def open_stream(self, request: ProviderRequest) -> tuple[BodyStream, float]:
        """POST a streaming request; return the 2xx body (headers read) and the send time.

        Raises ProviderTimeout (headers deadline), ProviderConnectionError (cannot connect),
        ProviderDisconnected (accepted, then hung up without answering), or the mapped error of
        a non-2xx answer (its body read, at most ``MAX_ERROR_BODY_BYTES``, and closed).
        """
        started = time.monotonic()
        headers_by, head, body = self._prepare(request, stream=True, started=started)
        try:
            stream = await self._transport.stream(head, body, headers_by)
        except TransportError as exc:
            raise self.failure(exc, request) from None
        if stream.status >= 300:
            raise await self._stream_error_of(stream, request)
        return stream, started

    def failure(
        self, exc: TransportError, request: ProviderRequest, *, in_stream: bool = False
    ) -> ProviderError:
        """The ProviderError of a transport failure, noted for ``health()``."""
        error = provider_error(exc, self.name, self.labels(request), in_stream=in_stream)
        self._note(error.message)
        return error

    def labels(self, request: ProviderRequest) -> Labels:
        """``model``/``provider`` for errors: the logical id, which the gateway matches on."""
        return Labels(model=request.policy.logical_id, provider=self.name)

    def map_payload_error(
        self, payload: Mapping[str, Any], request: ProviderRequest, status: int | None = None
    ) -> ProviderError:
        """The mapped error of an error object received with a 2xx status."""
        error = error_from_payload(
            payload,
            status=status,
            model=self._model(request),
            provider=self.name,
            secret=self._secret,
        )
        return self._relabel(error, request)

    def note_failure(self, message: str | None) -> None:
        self._note(message)

    @property
    def secret(self) -> str | None:
        """The key as text, for masking it in messages. Never log or return it."""
        return self._secret

    # ------------------------------------------------------------------ internals

    def _prepare(
        self, request: ProviderRequest, *, stream: bool, started: float | None = None
    ) -> tuple[Deadline, RequestHead, bytes]:
        """The headers deadline, head and body of one attempt. Raises ProviderTimeout when the
        attempt already expired (nothing is sent) and ProviderBadRequest for a body that is not
        JSON or an extra header that cannot be sent."""
        headers_s = request.deadlines.headers_s
        headers_by = Deadline.within(
            time.monotonic() if started is None else started,
            headers_s if headers_s is not None else float("inf"),
            request.deadline_at,
            f"no response headers within {headers_s} s",
            "response headers",
        )
        labels = self.labels(request)
        if headers_by.remaining() <= 0:
            raise timeout_error(headers_by, **labels)
        try:
            body = orjson.dumps(request.body)
        except orjson.JSONEncodeError as exc:
            raise ProviderBadRequest(f"request body is not JSON: {exc}", **labels) from None
        head = self._sse_head if stream else self._json_head
        if request.extra_headers:
            base = self._sse_headers if stream else self._json_headers
            try:
                head = self._transport.prepare(
                    "POST", self._target, {**base, **request.extra_headers}
                )
            except ValueError as exc:
                raise ProviderBadRequest(str(exc), **labels) from None
        self._used = True
        return headers_by, head, body

    def _prebuilt_headers(self, accept: str) -> dict[str, str]:
        headers = {
            "Content-Type": "application/json",
            "Accept": accept,
            "User-Agent": USER_AGENT,
        }
        if accept == "text/event-stream":
            # A compressed event stream is buffered by the compressor: tokens arrive late.
            headers["Accept-Encoding"] = "identity"
        if self._secret:
            headers["Authorization"] = f"Bearer {self._secret}"
        headers.update(self.endpoint.headers)
        return headers

    async def _stream_error_of(self, stream: BodyStream, request: ProviderRequest) -> ProviderError:
        """Read (a bounded part of) an error answer and map it; the body is released."""
        body = b""
        try:
            body = await read_capped(
                stream, Deadline(request.deadline_at, ""), MAX_ERROR_BODY_BYTES
            )
        except TransportError:
            pass  # map what arrived: the status alone still says what failed
        finally:
            stream.release()
        return self._error_of(stream.status, stream.headers, body, request)

    def _error_of(
        self, status: int, headers: Mapping[str, str], body: bytes, request: ProviderRequest
    ) -> ProviderError:
        error = error_from_response(
            status,
            headers,
            body[:MAX_ERROR_BODY_BYTES],
            model=self._model(request),
            provider=self.name,
            secret=self._secret,
        )
        self._note(error.message if error.counts_against_model else None)
        return self._relabel(error, request)

    def _parse_completion(self, raw: bytes, request: ProviderRequest) -> dict[str, Any]:
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            body = None
        if not isinstance(body, dict):
            raise ProviderUnavailable(
                f"{self.name} returned an unreadable completion for model {self._model(request)}",
                upstream_status=200,
                **self.labels(request),
            )
        if body.get("error"):
            # OpenRouter reports errors that happen after it accepted the request in a 200 body.
            raise self.map_payload_error(body, request)
        choices = body.get("choices")
        first = choices[0] if isinstance(choices, list) and choices else {}
        finish = first.get("finish_reason") if isinstance(first, dict) else None
        if is_content_filter_finish(finish):
            raise ContentFiltered(
                f"{self.name}: output of model {self._model(request)} was withheld by the "
                "provider's content filter (finish_reason content_filter)",
                upstream_status=200,
                **self.labels(request),
            )
        if finish == "error":
            raise ProviderUnavailable(
                f"{self.name}: model {self._model(request)} finished with an error",
                upstream_status=200,
                **self.labels(request),
            )
        return body

    def _relabel(self, error: ProviderError, request: ProviderRequest) -> ProviderError:
        error.model = request.policy.logical_id
        return error

    def _note(self, failure: str | None) -> None:
        self._last_failure = failure

    @staticmethod
    def _model(request: ProviderRequest) -> str:
        model = request.body.get("model")
        return model if isinstance(model, str) else request.policy.provider_model_id


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None
