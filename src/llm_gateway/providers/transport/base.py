"""The small interface the provider speaks to: one origin, two operations, plain values.

A :class:`Transport` serves one origin (scheme, host, port) over a pool of keep-alive
connections. The provider prepares its request heads once (:meth:`Transport.prepare`), then per
attempt calls :meth:`Transport.request` (the whole answer) or :meth:`Transport.stream` (the head,
then the body as it arrives). Both raise only :mod:`~llm_gateway.providers.transport.errors`.

Who closes what: ``request`` always returns its connection to the pool (or closes it); a
:class:`BodyStream` hands its connection back only once the body was read to the end
(``read`` returned ``b""``, or ``release()`` at the end), and ``close()`` drops it otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

from llm_gateway.limits.upstream_headers import HEADERS as RATE_LIMIT_HEADERS
from llm_gateway.providers.transport.deadline import Deadline

DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024  # GATEWAY_MAX_UPSTREAM_BODY_BYTES' default

# The only response headers a transport keeps (lower-case names): what the provider reads.
KEPT_HEADERS = (
    "content-type",
    "retry-after",
    "x-request-id",
    "x-generation-id",
    *RATE_LIMIT_HEADERS,
)


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a transport connects: ``scheme`` is ``http`` or ``https``."""

    scheme: str
    host: str
    port: int

    @classmethod
    def of(cls, url: str) -> Origin:
        """The origin of an absolute http(s) URL; ValueError for anything else."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        return cls(parts.scheme, parts.hostname, port)

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host_header}"


@dataclass(frozen=True, slots=True)
class RequestHead:
    """A request line and headers, prepared once: ``wire`` is the encoded head without the
    ``Content-Length`` line and the blank line (the native transport appends both per body)."""

    method: str
    target: str
    headers: Mapping[str, str]
    wire: bytes


@dataclass(slots=True)
class Response:
    """A complete answer: ``headers`` holds only :data:`KEPT_HEADERS` (lower-case names); for a
    non-2xx status ``body`` may be cut at the transport's error-body cap. A 2xx body is never
    longer than the transport's ``max_body_bytes``: BodyTooLarge is raised instead."""

    status: int
    headers: dict[str, str]
    body: bytes


class BodyStream(Protocol):
    """A response whose head was read and whose body arrives in pieces."""

    status: int
    headers: dict[str, str]

    async def read(self, deadline: Deadline) -> bytes:
        """The next bytes of the body (everything buffered so far), waiting until ``deadline``
        for some; ``b""`` at the end of the body, when the connection has gone back to the pool.
        Raises BodyCut, DeadlinePassed."""
        ...

    @property
    def at_eof(self) -> bool:
        """True once the whole body has been received and read."""
        ...

    def release(self) -> None:
        """Back to the pool when the body was read to the end, closed otherwise. Idempotent."""
        ...

    def close(self) -> None:
        """Drop the connection (unless already released). Idempotent."""
        ...


class Transport(Protocol):
    """HTTP/1.1 exchanges with one origin. Create it anywhere; it binds to the running loop on
    first use. ``close()`` drops every connection; a later exchange opens new ones."""

    def prepare(self, method: str, target: str, headers: Mapping[str, str]) -> RequestHead:
        """A reusable head for ``target`` (path and query). ValueError for a header name or
        value containing CR/LF."""
        ...

    async def request(
        self, head: RequestHead, body: bytes, headers_by: Deadline, body_by: Deadline
    ) -> Response:
        """Send and read the whole answer: the head by ``headers_by``, the body by ``body_by``."""
        ...

    async def stream(self, head: RequestHead, body: bytes, headers_by: Deadline) -> BodyStream:
        """Send and read the head by ``headers_by``; the caller reads (and closes) the body."""
        ...

    def open_connections(self) -> int | None:
        """Connections open now (idle and busy), None when the transport cannot tell."""
        ...

    async def close(self) -> None: ...


def encode_head(method: str, target: str, host: str, headers: Mapping[str, str]) -> bytes:
    """``method target HTTP/1.1``, ``Host`` and ``headers`` as wire bytes (UTF-8, as aiohttp
    sends them), without the terminating blank line. ``Host``/``Content-Length`` given in
    ``headers`` are ignored: the transport sets them."""
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}"]
    for name, value in headers.items():
        if any(c in name or c in value for c in "\r\n\0") or not name or ":" in name:
            raise ValueError(f"invalid HTTP header {name!r}")
        if name.lower() not in ("host", "content-length"):
            lines.append(f"{name}: {value}")
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


async def read_capped(body: BodyStream, deadline: Deadline, cap: int) -> bytes:
    """Up to ``cap`` bytes of the rest of ``body`` by ``deadline`` (for error answers)."""
    parts: list[bytes] = []
    size = 0
    while size < cap:
        part = await body.read(deadline)
        if not part:
            break
        parts.append(part)
        size += len(part)
    return b"".join(parts)[:cap]
