"""What a transport raises when an exchange fails: a small tree, free of any client library.

    TransportError
    ├── ConnectFailed        no connection: refused, unreachable, DNS, TLS handshake
    ├── ServerHungUp         connected and sent, then closed or reset before a complete head
    │   └── StaleConnection  the same on a reused keep-alive connection before any byte
    │                        (internal: the native transport retries it once on a new connection)
    ├── MalformedResponse    bytes that are not an HTTP/1.1 response head
    ├── BodyCut              the connection ended (or broke framing) after the head, mid-body
    ├── BodyTooLarge         a 2xx body over the transport's cap (the connection is dropped)
    └── DeadlinePassed       the Deadline given for this wait passed (carries it)

Each transport translates its own foreign exceptions (OSError, ssl, aiohttp) into this tree at its
boundary; ``providers/deadlines.py`` maps the tree into the gateway's ProviderError classes, in one
function. Messages never contain request headers (the key travels in one).
"""

from __future__ import annotations

from llm_gateway.providers.transport.deadline import Deadline


class TransportError(Exception):
    """One failed exchange; ``str()`` is a short description safe to show."""


class ConnectFailed(TransportError):
    """No connection could be made to ``host:port``."""

    def __init__(self, host: str, port: int, reason: str) -> None:
        super().__init__(f"cannot connect to {host}:{port} ({reason})")
        self.host = host
        self.port = port


class ServerHungUp(TransportError):
    """The server took the request and closed or reset the connection without answering."""


class StaleConnection(ServerHungUp):
    """A reused idle connection was found closed before any response byte: the server dropped it
    while it sat in the pool and never processed the request, so sending again is safe."""


class MalformedResponse(TransportError):
    """What came back is not an HTTP/1.1 response head this client can read."""


class BodyCut(TransportError):
    """The response head arrived, then the body ended early or its framing broke."""


class BodyTooLarge(TransportError):
    """A complete answer's body grew past the transport's ``max_body_bytes``; nothing of it is
    kept, and the connection is dropped rather than drained."""

    def __init__(self, cap: int) -> None:
        super().__init__(f"response body over the {cap}-byte cap (GATEWAY_MAX_UPSTREAM_BODY_BYTES)")
        self.cap = cap


class DeadlinePassed(TransportError):
    """The wait's Deadline passed; ``deadline.message`` names the limit."""

    def __init__(self, deadline: Deadline) -> None:
        super().__init__(deadline.message)
        self.deadline = deadline


def describe_os_error(exc: BaseException | None) -> str:
    """A short text for an OSError (or None: a clean close by the peer)."""
    if exc is None:
        return "connection closed by the server"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return (str(exc) or type(exc).__name__)[:200]
