"""The :class:`Transport` over ``aiohttp``: used when an HTTP(S) proxy applies to the endpoint.

The proxy URL (from ``HTTP_PROXY``/``HTTPS_PROXY``/``NO_PROXY``, read once by ``proxy.py``, with
any credentials in it) is passed on each request rather than ``trust_env=True``, which would
re-read the environment and ``~/.netrc`` on every request. aiohttp speaks CONNECT to the proxy
for https and decompresses gzip/deflate. It costs about four times the CPU
of the native transport per request, which is why it is only the proxy path. aiohttp's exceptions
are translated into the transport error tree here, and nowhere else.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp

from llm_gateway.providers.transport.base import (
    DEFAULT_MAX_BODY_BYTES,
    KEPT_HEADERS,
    Origin,
    RequestHead,
    Response,
    encode_head,
)
from llm_gateway.providers.transport.connection import ERROR_BODY_CAP
from llm_gateway.providers.transport.deadline import Deadline
from llm_gateway.providers.transport.errors import (
    BodyCut,
    BodyTooLarge,
    ConnectFailed,
    DeadlinePassed,
    MalformedResponse,
    ServerHungUp,
    TransportError,
)


class AiohttpTransport:
    """One ``aiohttp.ClientSession`` (created lazily in the running loop) for one origin."""

    def __init__(
        self,
        origin: Origin,
        max_connections: int,
        idle_timeout_s: float,
        *,
        proxy: str | None = None,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    ) -> None:
        self.origin = origin
        self.max_body_bytes = max_body_bytes
        self._proxy = proxy
        self._max = max_connections
        self._idle_timeout = idle_timeout_s
        self._session: aiohttp.ClientSession | None = None

    def __repr__(self) -> str:
        via = " via a proxy" if self._proxy else ""
        return f"AiohttpTransport({self.origin.url}{via})"

    def prepare(self, method: str, target: str, headers: Mapping[str, str]) -> RequestHead:
        wire = encode_head(method, target, self.origin.host_header, headers)  # validates
        return RequestHead(method, target, dict(headers), wire)

    async def request(
        self, head: RequestHead, body: bytes, headers_by: Deadline, body_by: Deadline
    ) -> Response:
        response = await self._send(head, body, headers_by)
        parts: list[bytes] = []
        timeout = body_by.timeout()
        try:
            async with timeout:
                if response.status < 300:
                    cap = self.max_body_bytes
                    await _read_capped(response, cap + 1, parts)
                    if sum(map(len, parts)) > cap:
                        response.close()
                        raise BodyTooLarge(cap)
                else:
                    await _read_capped(response, ERROR_BODY_CAP, parts)
        except (aiohttp.ClientError, OSError) as exc:
            response.close()
            if response.status < 300:  # an error answer is mapped on what arrived
                raise _translated(exc, timeout.expired(), body_by, after_head=True) from None
        finally:
            response.release()
        return Response(response.status, _kept(response.headers), b"".join(parts))

    async def stream(
        self, head: RequestHead, body: bytes, headers_by: Deadline
    ) -> AiohttpBodyStream:
        return AiohttpBodyStream(await self._send(head, body, headers_by))

    def open_connections(self) -> int | None:
        """Idle pooled connections (aiohttp has no public counter of busy ones)."""
        connector = self._session.connector if self._session and not self._session.closed else None
        pooled = getattr(connector, "_conns", None)
        if isinstance(pooled, dict):
            return sum(len(c) for c in pooled.values())
        return None

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()

    async def _send(
        self, head: RequestHead, body: bytes, headers_by: Deadline
    ) -> aiohttp.ClientResponse:
        timeout = headers_by.timeout()
        try:
            async with timeout:
                return await self._client().request(
                    head.method,
                    self.origin.url + head.target,
                    data=body,
                    headers=head.headers,
                    allow_redirects=False,
                    proxy=self._proxy,
                )
        except (aiohttp.ClientError, OSError) as exc:
            raise _translated(exc, timeout.expired(), headers_by, after_head=False) from None

    def _client(self) -> aiohttp.ClientSession:
        session = self._session
        if session is None or session.closed:
            connector = aiohttp.TCPConnector(
                limit=self._max,
                limit_per_host=self._max,
                ttl_dns_cache=300,  # one lookup per 5 min, not per connection
                keepalive_timeout=self._idle_timeout,
            )
            session = self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(total=None),  # deadlines are enforced here
                raise_for_status=False,
            )
        return session


class AiohttpBodyStream:
    """A streamed aiohttp response body."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response
        self.status = response.status
        self.headers = _kept(response.headers)

    async def read(self, deadline: Deadline) -> bytes:
        content = self._response.content
        if content.at_eof():
            self.release()
            return b""
        timeout = deadline.timeout()
        try:
            async with timeout:
                data = await content.readany()
        except (aiohttp.ClientError, OSError) as exc:
            raise _translated(exc, timeout.expired(), deadline, after_head=True) from None
        if not data:
            self.release()
        return data

    @property
    def at_eof(self) -> bool:
        return self._response.content.at_eof()

    def release(self) -> None:
        self._response.release()  # reused when fully read, otherwise the connection is dropped

    def close(self) -> None:
        self._response.close()


def _translated(
    exc: BaseException, expired: bool, deadline: Deadline, *, after_head: bool
) -> TransportError:
    """aiohttp's (or the socket's) exception as a TransportError. TimeoutError is an OSError, so
    ``expired`` (did our deadline fire?) decides whether it means the deadline."""
    if expired:
        return DeadlinePassed(deadline)
    if isinstance(exc, aiohttp.ClientConnectorError):
        reason = exc.os_error.strerror or str(exc.os_error)
        return ConnectFailed(exc.host, exc.port or 0, reason)
    if after_head:
        if isinstance(exc, aiohttp.ClientPayloadError):
            return BodyCut("response body incomplete (connection closed mid-body)")
        return BodyCut(_describe(exc))
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return ServerHungUp("connection closed by the server")
    if isinstance(exc, aiohttp.ClientOSError):
        return ServerHungUp(_describe(exc))
    if isinstance(exc, aiohttp.ClientResponseError):
        return MalformedResponse(_describe(exc))
    return TransportError(_describe(exc))


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:300]


def _kept(headers: Any) -> dict[str, str]:
    kept = {}
    for name in KEPT_HEADERS:
        value = headers.get(name)
        if value is not None:
            kept[name] = value
    return kept


async def _read_capped(response: aiohttp.ClientResponse, cap: int, parts: list[bytes]) -> None:
    size = 0
    while size < cap:
        part = await response.content.read(cap - size)
        if not part:
            return
        parts.append(part)
        size += len(part)
