"""A bounded pool of keep-alive connections to one origin.

- At most ``max_connections`` open at once (connecting, busy and idle); a caller beyond that waits
  for a slot, bounded by its Deadline (whose message then adds that every connection was busy).
- Idle connections are reused LIFO (the most recently used is the least likely to have been
  dropped by the server) and closed after ``idle_timeout_s`` idle, shorter than common server
  keep-alive timeouts so the server rarely closes one first; one pool timer sweeps them.
- ``acquire(fresh=True)`` skips idle connections: the retry after a stale one must not meet a
  second stale one.
- DNS answers are cached 5 minutes (a connect per burst, not a lookup per connect); https
  connections use :func:`~llm_gateway.providers.transport.tls.default_ssl_context` with SNI.
- ``close()`` closes idle connections now and busy ones when they are handed back.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import ssl
import time
from collections import deque

from llm_gateway.providers.transport.base import Origin
from llm_gateway.providers.transport.connection import Connection
from llm_gateway.providers.transport.deadline import Deadline
from llm_gateway.providers.transport.errors import (
    ConnectFailed,
    DeadlinePassed,
    describe_os_error,
)
from llm_gateway.providers.transport.tls import default_ssl_context

DNS_TTL_S = 300.0


class ConnectionPool:
    """Connections to ``origin``; the transport acquires one per exchange and hands it back."""

    def __init__(
        self,
        origin: Origin,
        max_connections: int,
        idle_timeout_s: float,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        """``ssl_context`` (https only): None means :func:`default_ssl_context`."""
        self.origin = origin
        self._ssl_context = ssl_context
        self._max = max(1, max_connections)
        self._idle_timeout = idle_timeout_s
        self._idle: list[Connection] = []  # oldest first; taken from the end
        self._open = 0
        self._generation = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._sweeper: asyncio.TimerHandle | None = None
        self._addresses: list[str] = []
        self._resolved_at = -DNS_TTL_S
        self._literal = _is_ip(origin.host)

    @property
    def open_connections(self) -> int:
        return self._open

    async def acquire(self, deadline: Deadline, *, fresh: bool = False) -> Connection:
        """A connection ready for one exchange. Raises ConnectFailed or DeadlinePassed."""
        while True:
            if not fresh and self._idle:
                conn = self._idle.pop()
                conn.idle = False
                if time.monotonic() - conn.idle_since < self._idle_timeout and not conn.closed:
                    return conn
                conn.close()
                continue
            if self._open < self._max:
                return await self._connect(deadline)
            if fresh and self._idle:
                self._idle[0].close()  # make room for the new connection
                continue
            await self._slot_freed(deadline)

    def release(self, conn: Connection) -> None:
        """Hand a connection back after an exchange: idle if reusable, else closed."""
        if not conn.reusable or conn.generation != self._generation:
            conn.close()
            return
        conn.finish()
        conn.idle = True
        conn.idle_since = time.monotonic()
        self._idle.append(conn)
        if self._sweeper is None:
            loop = asyncio.get_running_loop()
            self._sweeper = loop.call_later(self._idle_timeout, self._sweep)
        self._wake_one()

    def discard(self, conn: Connection) -> None:
        """Close a connection whose exchange failed or was abandoned."""
        conn.close()

    async def close(self) -> None:
        """Close idle connections; busy ones close when released. The pool stays usable."""
        self._generation += 1
        for conn in list(self._idle):
            conn.close()
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None

    # ------------------------------------------------------------------ internals

    def _on_close(self, conn: Connection) -> None:
        if not conn.pooled:
            return  # closed while connecting: _connect gives the slot back
        self._open -= 1
        if conn.idle:
            conn.idle = False
            with contextlib.suppress(ValueError):
                self._idle.remove(conn)
        self._wake_one()

    def _wake_one(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    async def _slot_freed(self, deadline: Deadline) -> None:
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        timeout = deadline.timeout()
        try:
            async with timeout:
                await waiter
        except BaseException as exc:
            if waiter.done() and not waiter.cancelled():
                self._wake_one()  # woken as the wait ended: pass the wake-up on
            waiter.cancel()
            if isinstance(exc, TimeoutError) and timeout.expired():
                # Say that the time went waiting for our own pool, not for the server.
                busy = f"{deadline.message}: all {self._max} connections to the provider were busy"
                raise DeadlinePassed(Deadline(deadline.at, busy)) from None
            raise

    def _sweep(self) -> None:
        self._sweeper = None
        expired_before = time.monotonic() - self._idle_timeout
        while self._idle and self._idle[0].idle_since <= expired_before:
            self._idle[0].close()
        if self._idle:
            delay = self._idle[0].idle_since + self._idle_timeout - time.monotonic()
            self._sweeper = asyncio.get_running_loop().call_later(max(delay, 0.01), self._sweep)

    async def _connect(self, deadline: Deadline) -> Connection:
        self._open += 1  # the slot is taken while connecting
        timeout = deadline.timeout()
        conn: Connection | None = None
        try:
            async with timeout:
                conn = await self._dial()
        except BaseException as exc:
            self._open -= 1
            self._wake_one()
            if conn is not None:
                conn.close()  # connected just as the wait ended
            if isinstance(exc, OSError | ValueError):
                if timeout.expired():
                    raise DeadlinePassed(deadline) from None
                origin = self.origin
                raise ConnectFailed(origin.host, origin.port, describe_os_error(exc)) from None
            raise
        conn.pooled = True  # from now on its close frees the slot
        return conn

    async def _dial(self) -> Connection:
        """Connect to the first address that answers (the last error when none does)."""
        loop = asyncio.get_running_loop()
        origin = self.origin
        tls = None
        if origin.scheme == "https":
            tls = self._ssl_context or default_ssl_context()
        last_error: OSError = OSError("no address")
        for address in await self._resolve(loop):
            conn = Connection(loop, self._on_close, self._generation)
            try:
                await loop.create_connection(
                    lambda conn=conn: conn,
                    address,
                    origin.port,
                    ssl=tls,
                    server_hostname=origin.host if tls is not None else None,
                )
            except OSError as exc:
                last_error = exc
                continue
            return conn
        raise last_error

    async def _resolve(self, loop: asyncio.AbstractEventLoop) -> list[str]:
        if self._literal:
            return [self.origin.host]
        if time.monotonic() - self._resolved_at > DNS_TTL_S or not self._addresses:
            infos = await loop.getaddrinfo(
                self.origin.host, self.origin.port, type=socket.SOCK_STREAM
            )
            self._addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
            self._resolved_at = time.monotonic()
        return self._addresses


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
