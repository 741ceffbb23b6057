"""HTTP/1.1 client transports for the providers: a lean native one and aiohttp for proxies.

    provider (openai_compatible)  ── prepare / request / stream ──▶  Transport   (base.py)
        NativeTransport   native.py      pool.py (ConnectionPool) ─ connection.py (httptools)
        AiohttpTransport  aiohttp_transport.py   (HTTP_PROXY / HTTPS_PROXY apply: proxy.py)

Both raise only the tree in ``errors.py``; ``providers/deadlines.py`` maps it into the gateway's
ProviderError classes. :func:`create_transport` picks one per endpoint, once: ``"auto"`` is aiohttp
when a proxy variable applies to the URL (``NO_PROXY`` honoured), the native transport otherwise.
"""

from __future__ import annotations

from typing import Literal

from llm_gateway.providers.transport.base import (
    DEFAULT_MAX_BODY_BYTES,
    BodyStream,
    Origin,
    RequestHead,
    Response,
    Transport,
    read_capped,
)
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
from llm_gateway.providers.transport.native import NativeTransport
from llm_gateway.providers.transport.proxy import proxy_for

TransportKind = Literal["auto", "native", "aiohttp"]

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "BodyCut",
    "BodyStream",
    "BodyTooLarge",
    "ConnectFailed",
    "Deadline",
    "DeadlinePassed",
    "MalformedResponse",
    "NativeTransport",
    "Origin",
    "RequestHead",
    "Response",
    "ServerHungUp",
    "Transport",
    "TransportError",
    "TransportKind",
    "create_transport",
    "read_capped",
]


def create_transport(
    url: str,
    *,
    max_connections: int,
    idle_timeout_s: float,
    kind: TransportKind = "auto",
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> Transport:
    """The transport for ``url``'s origin. The proxy variables are read now, once: ``"auto"``
    picks aiohttp when one applies; a forced ``"aiohttp"`` uses it too (if any). A complete 2xx
    body longer than ``max_body_bytes`` raises BodyTooLarge."""
    origin = Origin.of(url)
    proxy = proxy_for(url)
    if kind == "auto":
        kind = "aiohttp" if proxy else "native"
    if kind == "aiohttp":
        # Imported only when needed: aiohttp is the proxy path, not the hot one.
        from llm_gateway.providers.transport.aiohttp_transport import AiohttpTransport

        return AiohttpTransport(
            origin, max_connections, idle_timeout_s, proxy=proxy, max_body_bytes=max_body_bytes
        )
    return NativeTransport(origin, max_connections, idle_timeout_s, max_body_bytes=max_body_bytes)
