"""Any OpenAI Chat Completions endpoint, reached by base URL and key over one pooled HTTP client.

This is the gateway's hot path, so it does the least work per request: the body is serialised once
with orjson and sent as bytes; headers are prebuilt per provider; one ``aiohttp.ClientSession`` per
provider keeps connections alive (aiohttp measured faster than httpx here, see
``bench/http_client_bench.py`` and ``docs/providers.md``); nothing is logged above DEBUG.

Deadlines of one attempt (``ProviderRequest.deadlines``, all set, plus ``deadline_at``):
``headers_s`` bounds connect + response headers; for streams ``first_token_s`` (from the send)
bounds the first content-bearing chunk and ``stall_s`` each next chunk (``openai_stream``). Expiry
raises ProviderTimeout naming the limit and drops that connection. Who closes what: ``complete``
always releases its response; a stream releases its response when exhausted, on error, or on
``aclose()``; ``close()`` closes the pool.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson
from pydantic import SecretStr

from llm_gateway.errors import (
    ContentFiltered,
    ProviderBadRequest,
    ProviderError,
    ProviderUnavailable,
)
from llm_gateway.providers.base import (
    ProviderHealth,
    ProviderRequest,
    ProviderResponse,
)
from llm_gateway.providers.deadlines import (
    TRANSPORT_ERRORS,
    Deadline,
    Labels,
    connection_error,
    error_before_headers,
    timeout_error,
)
from llm_gateway.providers.errors_map import (
    error_from_payload,
    error_from_response,
    is_content_filter_finish,
)
from llm_gateway.providers.openai_stream import ChunkStream, safe_usage

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
    keepalive_timeout_s: float = 30.0
    path: str = "/chat/completions"

    def __repr__(self) -> str:
        key = "set" if self.api_key is not None else "none"
        return f"Endpoint(name={self.name!r}, base_url={self.base_url!r}, api_key={key})"


class OpenAICompatibleProvider:
    """The Provider protocol over HTTP for one :class:`Endpoint`. Create it where a loop runs."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.name = endpoint.name
        self.endpoint = endpoint
        self.url = endpoint.base_url.rstrip("/") + endpoint.path
        self._secret = endpoint.api_key.get_secret_value() if endpoint.api_key else None
        self._json_headers = self._prebuilt_headers("application/json")
        self._sse_headers = self._prebuilt_headers("text/event-stream")
        self._session: aiohttp.ClientSession | None = None
        self._last_failure: str | None = None
        self._used = False

    def __repr__(self) -> str:
        return f"OpenAICompatibleProvider(name={self.name!r}, url={self.url!r})"

    # ------------------------------------------------------------------ the protocol

    async def complete(self, request: ProviderRequest) -> ProviderResponse:
        """The whole answer. Raises a ProviderError subclass (see ``errors_map``)."""
        response, _ = await self.send(request, stream=False)
        try:
            raw = await self._read_body(response, request)
        finally:
            response.release()  # reused when fully read, otherwise the connection is dropped
        body = self._parse_completion(raw, request)
        self._note(None)
        headers = response.headers
        request_id = headers.get("x-request-id") or headers.get("x-generation-id")
        return ProviderResponse(
            body=body,
            usage=safe_usage(body.get("usage")),
            status=response.status,
            request_id=request_id or _str_or_none(body.get("id")),
        )

    def stream(self, request: ProviderRequest) -> ChunkStream:
        """Chunks as they arrive; nothing is sent until the first ``__anext__``."""
        return ChunkStream(self, request)

    async def health(self) -> ProviderHealth:
        """What the pool knows without calling the (paid) upstream."""
        connector = self._session.connector if self._session and not self._session.closed else None
        open_connections = None
        if isinstance(connector, aiohttp.TCPConnector):
            # Idle pooled connections; aiohttp has no public counter, so read defensively.
            pooled = getattr(connector, "_conns", None)
            if isinstance(pooled, dict):
                open_connections = sum(len(c) for c in pooled.values())
        if not self._used:
            return ProviderHealth(self.name, "unknown", "no request yet", open_connections)
        if self._last_failure is not None:
            return ProviderHealth(self.name, "degraded", self._last_failure, open_connections)
        return ProviderHealth(self.name, "ok", "", open_connections)

    async def close(self) -> None:
        """Close the pool; a later request opens a new one. Safe to call more than once."""
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()

    # ------------------------------------------------------------------ sending

    async def send(
        self, request: ProviderRequest, *, stream: bool
    ) -> tuple[aiohttp.ClientResponse, float]:
        """POST the body; return the 2xx response (headers read) and the monotonic send time.

        Raises ProviderTimeout (headers deadline), ProviderConnectionError (cannot connect),
        ProviderDisconnected (accepted, then hung up without answering), or the mapped error of
        a non-2xx answer (its body read and the connection released).
        """
        started = time.monotonic()
        deadline = Deadline.within(
            started,
            _limit(request.deadlines.headers_s),
            request.deadline_at,
            f"no response headers within {request.deadlines.headers_s} s",
            "response headers",
        )
        labels = self.labels(request)
        if deadline.remaining() <= 0:
            raise timeout_error(deadline, **labels)
        try:
            body = orjson.dumps(request.body)
        except orjson.JSONEncodeError as exc:
            raise ProviderBadRequest(f"request body is not JSON: {exc}", **labels) from None
        headers = self._headers_for(request, stream)
        self._used = True
        try:
            async with deadline.timeout():
                response = await self._client().post(
                    self.url, data=body, headers=headers, allow_redirects=False
                )
        except TimeoutError:
            self._note(deadline.message)
            raise timeout_error(deadline, **labels) from None
        except TRANSPORT_ERRORS as exc:
            error = error_before_headers(exc, f"{self.name} request failed", **labels)
            self._note(error.message)
            raise error from None
        if response.status >= 300:
            raise await self._error_of(response, request)
        return response, started

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

    def _client(self) -> aiohttp.ClientSession:
        session = self._session
        if session is None or session.closed:
            limit = self.endpoint.max_connections
            connector = aiohttp.TCPConnector(
                limit=limit,
                limit_per_host=limit,
                ttl_dns_cache=300,  # one lookup per 5 min, not per connection
                keepalive_timeout=self.endpoint.keepalive_timeout_s,
            )
            session = self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(total=None),  # deadlines are enforced here
                raise_for_status=False,
            )
        return session

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

    def _headers_for(self, request: ProviderRequest, stream: bool) -> dict[str, str]:
        base = self._sse_headers if stream else self._json_headers
        if not request.extra_headers:
            return base
        return {**base, **request.extra_headers}

    async def _read_body(self, response: aiohttp.ClientResponse, request: ProviderRequest) -> bytes:
        deadline = Deadline(request.deadline_at, "attempt deadline reached while reading the body")
        try:
            async with deadline.timeout():
                return await response.read()
        except TimeoutError:
            response.close()
            self._note(deadline.message)
            raise timeout_error(deadline, **self.labels(request)) from None
        except TRANSPORT_ERRORS as exc:
            response.close()
            error = connection_error(exc, f"{self.name} response lost", **self.labels(request))
            self._note(error.message)
            raise error from None

    async def _error_of(
        self, response: aiohttp.ClientResponse, request: ProviderRequest
    ) -> ProviderError:
        """Read (a bounded part of) an error answer and map it; the response is released."""
        parts: list[bytes] = []
        try:
            async with Deadline(request.deadline_at, "").timeout():
                await _read_capped(response, MAX_ERROR_BODY_BYTES, parts)
        except TRANSPORT_ERRORS:  # TimeoutError included
            pass  # map what arrived: the status alone still says what failed
        finally:
            response.release()
        body = b"".join(parts)
        error = error_from_response(
            response.status,
            response.headers,
            body,
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


async def _read_capped(response: aiohttp.ClientResponse, cap: int, parts: list[bytes]) -> None:
    size = 0
    while size < cap:
        part = await response.content.read(cap - size)
        if not part:
            return
        parts.append(part)
        size += len(part)


def _limit(value: float | None) -> float:
    return value if value is not None else float("inf")


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None
