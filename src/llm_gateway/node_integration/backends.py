"""Where a node client's requests go: the in-process gateway, or a gateway served elsewhere.

Both take an OpenAI chat-completions body plus the caller's :class:`CallContext` and give the same
things back — the answer's body (``model`` = the logical model that answered), the trace id and
the cost — so the chat model above them behaves the same either way:

- :class:`InProcessBackend` calls ``LLMGateway.resolve_route`` / ``complete`` / ``stream``
  directly (no HTTP hop), with the same request checks as ``POST /v1/chat/completions``;
- :class:`RemoteBackend` posts to ``{GATEWAY_URL}/v1/chat/completions`` with the routing headers
  (``X-Gateway-Node``, ``X-Gateway-Strategy``, ``X-Trace-Id``) and reads JSON or SSE.

Failures raise :class:`~llm_gateway.errors.GatewayError` subclasses: the gateway's own in process,
:class:`RemoteGatewayError` (with the served status and error type) from a remote gateway, and
:class:`~llm_gateway.errors.ProviderStreamError` for a stream that ended with an in-band error.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import httpx
import orjson

from llm_gateway.errors import GatewayError, ProviderStreamError
from llm_gateway.providers.sse import SSEDecoder

if TYPE_CHECKING:
    from llm_gateway.gateway import LLMGateway

COMPLETIONS_PATH = "/v1/chat/completions"


@dataclass(frozen=True, slots=True)
class CallContext:
    """Who asks: the node whose requirements select the model, the strategy, the trace id and
    the end user (``user``, for per-user budgets)."""

    node: str | None = None
    strategy: str | None = None
    trace_id: str | None = None
    user: str | None = None
    arm: str | None = None  # the rollout arm of a legacy call (recorded in ledger and trace)


@dataclass(frozen=True, slots=True)
class Completion:
    """A whole answer: the OpenAI body, the model that answered, the trace id, the cost (USD)."""

    body: dict[str, Any]
    model: str
    trace_id: str
    cost: float | None
    arm: str = "v2"  # "v2": through the gateway; "v1": the legacy direct path


@dataclass(frozen=True, slots=True)
class StreamMeta:
    """What holds for every chunk of one stream: the model that answered and the trace id."""

    model: str
    trace_id: str
    arm: str = "v2"


class Backend(Protocol):
    async def complete(self, body: dict[str, Any], context: CallContext) -> Completion: ...

    def stream(
        self, body: dict[str, Any], context: CallContext
    ) -> AsyncIterator[tuple[dict[str, Any], StreamMeta]]: ...

    async def aclose(self) -> None: ...


class RemoteGatewayError(GatewayError):
    """A served gateway refused or failed the request; ``status_code`` and ``error_type`` are
    the ones it answered with."""

    def __init__(self, status: int, error_type: str, message: str, code: str | None) -> None:
        super().__init__(message, code=code)
        self.status_code = status
        self.error_type = error_type


def gateway_or_process(gateway: LLMGateway | None) -> LLMGateway:
    """``gateway``, else the process's (``get_llm_gateway()``, built on first use)."""
    if gateway is not None:
        return gateway
    from llm_gateway.gateway import get_llm_gateway

    return get_llm_gateway()


class InProcessBackend:
    """The gateway of this process (``get_llm_gateway()`` unless one is given)."""

    def __init__(self, gateway: LLMGateway | None = None) -> None:
        self._gateway = gateway

    @property
    def gateway(self) -> LLMGateway:
        return gateway_or_process(self._gateway)

    def _route(self, body: dict[str, Any], context: CallContext) -> Any:
        from llm_gateway.routes.chat_request import validate_chat_body

        gateway = self.gateway
        validate_chat_body(body, gateway)
        return gateway.resolve_route(
            body.get("model"),
            node=context.node,
            strategy=context.strategy,
            trace_id=context.trace_id,
            user_id=context.user,
            arm=context.arm,
        )

    async def complete(self, body: dict[str, Any], context: CallContext) -> Completion:
        result = await self.gateway.complete(body, self._route(body, context))
        return Completion(
            result.body, result.model.logical_id, result.trace_id, float(result.cost.total)
        )

    async def stream(
        self, body: dict[str, Any], context: CallContext
    ) -> AsyncIterator[tuple[dict[str, Any], StreamMeta]]:
        stream = self.gateway.stream(body, self._route(body, context))
        await stream.start()
        assert stream.model is not None
        meta = StreamMeta(stream.model.logical_id, stream.trace_id)
        try:
            async for chunk in stream:
                _raise_in_band_error(chunk)
                yield chunk, meta
        finally:
            await stream.aclose()

    async def aclose(self) -> None:
        """Nothing to release: the process's gateway belongs to the process."""


class RemoteBackend:
    """A gateway served at ``base_url`` (``GATEWAY_URL``), over its OpenAI-compatible API."""

    def __init__(
        self, base_url: str, *, api_key: str | None = None, timeout_s: float | None = None
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._timeout = httpx.Timeout(timeout_s or 120.0, connect=10.0)
        self._client: httpx.AsyncClient | None = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:  # made on first use, on the loop that uses it
            self._client = httpx.AsyncClient(base_url=self.base_url, timeout=self._timeout)
        return self._client

    def _headers(self, context: CallContext) -> dict[str, str]:
        headers = {"content-type": "application/json"}
        if self._api_key:
            headers["authorization"] = f"Bearer {self._api_key}"
        for name, value in (
            ("x-gateway-node", context.node),
            ("x-gateway-strategy", context.strategy),
            ("x-trace-id", context.trace_id),
            ("x-gateway-arm", context.arm),
        ):
            if value:
                headers[name] = value
        return headers

    async def complete(self, body: dict[str, Any], context: CallContext) -> Completion:
        response = await self._http().post(
            COMPLETIONS_PATH, content=orjson.dumps(body), headers=self._headers(context)
        )
        if response.status_code >= 400:
            raise _remote_error(response.status_code, response.content)
        answer = orjson.loads(response.content)
        usage = answer.get("usage") or {}
        cost = usage.get("cost") if isinstance(usage, dict) else None
        return Completion(
            answer,
            response.headers.get("x-gateway-model") or str(answer.get("model") or ""),
            response.headers.get("x-trace-id", ""),
            float(cost) if isinstance(cost, int | float) else None,
        )

    async def stream(
        self, body: dict[str, Any], context: CallContext
    ) -> AsyncIterator[tuple[dict[str, Any], StreamMeta]]:
        request = self._http().build_request(
            "POST", COMPLETIONS_PATH, content=orjson.dumps(body), headers=self._headers(context)
        )
        response = await self._http().send(request, stream=True)
        try:
            if response.status_code >= 400:
                raise _remote_error(response.status_code, await response.aread())
            meta = StreamMeta(
                response.headers.get("x-gateway-model", ""), response.headers.get("x-trace-id", "")
            )
            decoder = SSEDecoder()
            async for raw in response.aiter_bytes():
                for data in decoder.feed(raw):
                    if data == b"[DONE]":
                        return
                    chunk = orjson.loads(data)
                    _raise_in_band_error(chunk)
                    yield chunk, meta
            raise ProviderStreamError("the gateway's stream ended without [DONE]")
        finally:
            await response.aclose()

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


def _raise_in_band_error(chunk: Mapping[str, Any]) -> None:
    """A stream that failed after it began ends with an error event (never a silent cut)."""
    if "error" in chunk and not chunk.get("choices"):
        error = chunk.get("error") or {}
        message = error.get("message") if isinstance(error, dict) else None
        raise ProviderStreamError(str(message or "the stream was interrupted"))


def _remote_error(status: int, content: bytes) -> RemoteGatewayError:
    try:
        error = orjson.loads(content).get("error") or {}
    except (orjson.JSONDecodeError, AttributeError):
        error = {}
    if not isinstance(error, dict):
        error = {}
    message = str(error.get("message") or f"the gateway answered HTTP {status}")
    code = error.get("code")
    return RemoteGatewayError(
        status, str(error.get("type") or "gateway_error"), message, str(code) if code else None
    )
