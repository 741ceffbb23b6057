"""Waits bounded by one attempt's deadlines, and the transport's failures as ProviderErrors.

Every wait of a provider is capped twice: by its own limit (headers, first token, stall) and by the
attempt's absolute ``deadline_at`` (``time.monotonic()`` terms). :class:`Deadline` (defined with
the transports, which enforce it) says which of the two binds, so a ProviderTimeout names the limit
that actually expired.

:func:`provider_error` is the one place where a transport failure becomes a ProviderError:

    transport error          before/without a stream body        while reading a stream body
    DeadlinePassed           ProviderTimeout (its message)       ProviderTimeout
    ConnectFailed            ProviderConnectionError (retryable) —   (only before the head)
    ServerHungUp             ProviderDisconnected (not retried)  —   (only before the head)
    BodyCut                  ProviderConnectionError             ProviderStreamError
    BodyTooLarge             ProviderError (502, body not relayed) —   (events: see sse.py)
    MalformedResponse, other ProviderConnectionError             ProviderStreamError
"""

from __future__ import annotations

from typing import TypedDict

from llm_gateway.errors import (
    ProviderConnectionError,
    ProviderDisconnected,
    ProviderError,
    ProviderStreamError,
    ProviderTimeout,
)
from llm_gateway.providers.transport.deadline import Deadline
from llm_gateway.providers.transport.errors import (
    BodyCut,
    BodyTooLarge,
    DeadlinePassed,
    ServerHungUp,
    TransportError,
)

__all__ = ["Deadline", "Labels", "provider_error", "timeout_error"]


class Labels(TypedDict):
    """What every ProviderError of an attempt is labelled with."""

    model: str
    provider: str


def provider_error(
    exc: TransportError, name: str, labels: Labels, *, in_stream: bool = False
) -> ProviderError:
    """The ProviderError for a failed exchange with provider ``name``.

    ``in_stream``: the failure happened while reading the body of a 200 stream (a cut stream is
    a ProviderStreamError). Connect failures are retryable; a server that accepted the request
    and hung up without answering is ProviderDisconnected (the gateway moves on to the next
    model); a non-streaming body cut short is retryable.
    """
    if isinstance(exc, DeadlinePassed):
        return timeout_error(exc.deadline, **labels)
    if isinstance(exc, BodyTooLarge):
        return ProviderError(f"{name} answered with an unusable response: {exc}", **labels)
    if in_stream:
        return ProviderStreamError(f"stream cut: {exc}", **labels)
    if isinstance(exc, ServerHungUp):
        return ProviderDisconnected(
            f"{name} request failed: the server hung up without answering ({exc})", **labels
        )
    if isinstance(exc, BodyCut):
        return ProviderConnectionError(f"{name} response lost: {exc}", **labels)
    return ProviderConnectionError(f"{name} request failed: {exc}", **labels)


def timeout_error(deadline: Deadline, model: str, provider: str) -> ProviderTimeout:
    return ProviderTimeout(deadline.message, model=model, provider=provider)
