"""Waits bounded by one attempt's deadlines, and translation of the transport's exceptions.

Every wait of a provider is capped twice: by its own limit (headers, first token, stall) and by the
attempt's absolute ``deadline_at`` (``time.monotonic()`` terms). :class:`Deadline` says which of the
two binds, so a ProviderTimeout names the limit that actually expired.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import TypedDict

import aiohttp

from llm_gateway.errors import (
    ProviderConnectionError,
    ProviderDisconnected,
    ProviderStreamError,
    ProviderTimeout,
)


class Labels(TypedDict):
    """What every ProviderError of an attempt is labelled with."""

    model: str
    provider: str


@dataclass(frozen=True, slots=True)
class Deadline:
    """An absolute monotonic instant and the message to raise when it passes."""

    at: float
    message: str

    @classmethod
    def within(
        cls, start: float, limit_s: float, deadline_at: float, message: str, waiting_for: str
    ) -> Deadline:
        """``start + limit_s`` (raising ``message``), or the attempt deadline when that comes
        first (raising "attempt deadline reached while waiting for ``waiting_for``")."""
        own = start + limit_s
        if deadline_at < own:
            return cls(deadline_at, f"attempt deadline reached while waiting for {waiting_for}")
        return cls(own, message)

    def remaining(self) -> float:
        return self.at - time.monotonic()

    def timeout(self) -> asyncio.Timeout:
        """An ``async with`` block that raises TimeoutError at this instant."""
        return asyncio.timeout(max(self.remaining(), 0.0))


def connection_error(
    exc: BaseException, where: str, model: str, provider: str
) -> ProviderConnectionError:
    """A connection that could not be made, or broke before a complete answer (retryable)."""
    return ProviderConnectionError(f"{where}: {_describe(exc)}", model=model, provider=provider)


def error_before_headers(
    exc: BaseException, where: str, model: str, provider: str
) -> ProviderConnectionError | ProviderDisconnected:
    """The transport failed before any response header arrived.

    Connect failures (refused, DNS, reset while connecting) are ProviderConnectionError
    (retryable). A server that accepted the connection, received the request and then closed or
    reset it without answering is ProviderDisconnected (not retried: the gateway moves on).
    """
    connected = isinstance(exc, aiohttp.ServerDisconnectedError) or (
        isinstance(exc, aiohttp.ClientOSError) and not isinstance(exc, aiohttp.ClientConnectorError)
    )
    if connected:
        return ProviderDisconnected(
            f"{where}: the server hung up without answering ({_describe(exc)})",
            model=model,
            provider=provider,
        )
    return connection_error(exc, where, model, provider)


def stream_cut(exc: BaseException, model: str, provider: str) -> ProviderStreamError:
    """The connection broke while the stream was being read."""
    return ProviderStreamError(f"stream cut: {_describe(exc)}", model=model, provider=provider)


def timeout_error(deadline: Deadline, model: str, provider: str) -> ProviderTimeout:
    return ProviderTimeout(deadline.message, model=model, provider=provider)


TRANSPORT_ERRORS: tuple[type[Exception], ...] = (aiohttp.ClientError, OSError)
"""What the transport raises for a broken exchange (aiohttp's tree; OSError for raw resets).
TimeoutError is an OSError: catch it first where it means a deadline."""


def _describe(exc: BaseException) -> str:
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "connection closed by the server"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return "response body incomplete (connection closed mid-body)"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"cannot connect to {exc.host}:{exc.port} ({exc.os_error.strerror or exc.os_error})"
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:300]
