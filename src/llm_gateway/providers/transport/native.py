"""The lean HTTP/1.1 transport: a :class:`ConnectionPool` of httptools-parsed connections.

Per exchange: take a connection, write the prepared head plus ``Content-Length`` and the body in
one write, and wait on the connection (one future and one timer per wait). A reused connection
that turns out closed before any response byte (the server dropped it while idle, so it never saw
the request) is replaced once by a new connection and the request sent again; on a new connection
the same thing is ServerHungUp. Bodies are never decompressed unless the server compresses
anyway: heads ask for ``Accept-Encoding: identity`` unless the caller chose an encoding.
"""

from __future__ import annotations

import ssl
import zlib
from collections.abc import Mapping

from llm_gateway.providers.transport.base import (
    DEFAULT_MAX_BODY_BYTES,
    Origin,
    RequestHead,
    Response,
    encode_head,
)
from llm_gateway.providers.transport.connection import Connection
from llm_gateway.providers.transport.deadline import Deadline
from llm_gateway.providers.transport.errors import (
    BodyCut,
    BodyTooLarge,
    DeadlinePassed,
    MalformedResponse,
    StaleConnection,
)
from llm_gateway.providers.transport.pool import ConnectionPool


class NativeTransport:
    """The :class:`~llm_gateway.providers.transport.base.Transport` for direct connections."""

    def __init__(
        self,
        origin: Origin,
        max_connections: int,
        idle_timeout_s: float,
        *,
        ssl_context: ssl.SSLContext | None = None,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    ) -> None:
        self.origin = origin
        self.max_body_bytes = max_body_bytes
        self._pool = ConnectionPool(origin, max_connections, idle_timeout_s, ssl_context)

    def __repr__(self) -> str:
        return f"NativeTransport({self.origin.url})"

    def prepare(self, method: str, target: str, headers: Mapping[str, str]) -> RequestHead:
        if not any(name.lower() == "accept-encoding" for name in headers):
            headers = {**headers, "Accept-Encoding": "identity"}
        wire = encode_head(method, target, self.origin.host_header, headers)
        return RequestHead(method, target, headers, wire)

    async def request(
        self, head: RequestHead, body: bytes, headers_by: Deadline, body_by: Deadline
    ) -> Response:
        data = _request_bytes(head, body)
        fresh = False
        while True:
            conn = await self._pool.acquire(headers_by, fresh=fresh)
            conn.max_body = self.max_body_bytes
            try:
                await _until_complete(conn, data, headers_by, body_by)
                response = Response(conn.status, conn.headers, _decoded(conn, self.max_body_bytes))
            except StaleConnection:
                self._pool.discard(conn)
                fresh = True
                continue
            except (BodyCut, DeadlinePassed):
                self._pool.discard(conn)
                if conn.headers_done and conn.status >= 300:
                    # An error answer is mapped on its status and what of its body arrived.
                    return Response(conn.status, conn.headers, conn.take() if conn.parts else b"")
                raise
            except BaseException:
                self._pool.discard(conn)
                raise
            self._pool.release(conn)
            return response

    async def stream(
        self, head: RequestHead, body: bytes, headers_by: Deadline
    ) -> NativeBodyStream:
        data = _request_bytes(head, body)
        fresh = False
        while True:
            conn = await self._pool.acquire(headers_by, fresh=fresh)
            try:
                conn.send(data, streaming=True)
                while not conn.headers_done:
                    await conn.wait(headers_by)
                return NativeBodyStream(conn, self._pool)
            except StaleConnection:
                self._pool.discard(conn)
                fresh = True
            except BaseException:
                self._pool.discard(conn)
                raise

    def open_connections(self) -> int | None:
        return self._pool.open_connections

    async def close(self) -> None:
        await self._pool.close()


class NativeBodyStream:
    """A streamed body read straight from the connection's buffer."""

    __slots__ = ("_conn", "_decoder", "_pool", "_settled", "headers", "status")

    def __init__(self, conn: Connection, pool: ConnectionPool) -> None:
        self._conn = conn
        self._pool = pool
        self._settled = False
        self.status = conn.status
        self.headers = conn.headers
        self._decoder = _decoder_for(conn.headers.get("content-encoding"))

    async def read(self, deadline: Deadline) -> bytes:
        conn = self._conn
        while True:
            if conn.parts:
                data = conn.take()
                return data if self._decoder is None else self._decode(data)
            if conn.complete or self._settled:
                self.release()
                return b""
            await conn.wait(deadline)

    @property
    def at_eof(self) -> bool:
        return self._conn.complete and not self._conn.parts

    def release(self) -> None:
        if not self._settled:
            self._settled = True
            if self.at_eof:
                self._pool.release(self._conn)
            else:
                self._pool.discard(self._conn)

    def close(self) -> None:
        if not self._settled:
            self._settled = True
            self._pool.discard(self._conn)

    def _decode(self, data: bytes) -> bytes:
        assert self._decoder is not None
        try:
            return self._decoder.decompress(data)
        except zlib.error as exc:
            raise BodyCut(f"undecodable compressed body ({exc})") from None


def _request_bytes(head: RequestHead, body: bytes) -> bytes:
    return b"%sContent-Length: %d\r\n\r\n%s" % (head.wire, len(body), body)


async def _until_complete(
    conn: Connection, data: bytes, headers_by: Deadline, body_by: Deadline
) -> None:
    """Send and wait for the whole answer: the head by ``headers_by``, the rest by ``body_by``.

    One timer at a time: the headers one, and only if it fires after the head arrived, the body
    one (usually the whole answer arrives in one read and no second timer is ever set).
    """
    conn.send(data, streaming=False)
    deadline = headers_by
    while not conn.complete:
        try:
            await conn.wait(deadline)
        except DeadlinePassed as exc:
            if exc.deadline is headers_by and conn.headers_done and body_by.at > headers_by.at:
                deadline = body_by
                continue
            raise


def _decoded(conn: Connection, cap: int) -> bytes:
    """The body, decompressed if the server compressed it; BodyTooLarge past ``cap`` bytes
    once decompressed (a small compressed body may expand enormously)."""
    body = conn.take() if conn.parts else b""
    decoder = _decoder_for(conn.headers.get("content-encoding"))
    if decoder is None:
        return body
    try:
        data = decoder.decompress(body, cap + 1)
        if len(data) > cap or decoder.unconsumed_tail:
            raise BodyTooLarge(cap)
        return data + decoder.flush()
    except zlib.error as exc:
        raise BodyCut(f"undecodable compressed body ({exc})") from None


def _decoder_for(encoding: str | None) -> zlib._Decompress | None:
    """A decompressor for a body the server compressed although we asked for identity."""
    if not encoding or encoding.lower() == "identity":
        return None
    kind = encoding.lower().strip()
    if kind in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if kind == "deflate":
        return zlib.decompressobj()
    raise MalformedResponse(f"unsupported content-encoding {encoding!r}")
