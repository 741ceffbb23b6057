"""Request and trace identifiers: read them from the caller's headers or make them up.

A trace id comes from ``X-Trace-Id`` (1-128 characters of ``[A-Za-z0-9._:-]``), else from a W3C
``traceparent`` header (``00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>``, all-zero ids
invalid), else it is generated (32 lowercase hex characters, a valid W3C trace id). A request id
comes from ``X-Request-Id`` when it is well formed, else it is generated. Malformed values are
ignored rather than refused: tracing must never fail a request.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Iterable

_TOKEN = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
_TRACEPARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
_ZERO_TRACE = "0" * 32
_ZERO_PARENT = "0" * 16


def new_id() -> str:
    """32 lowercase hex characters, time-ordered: 14 of the time in microseconds, then 18 random
    (72 bits). Never all zeros, so a valid W3C trace id.

    Ids need to be unique, not secret: the process PRNG avoids a system call per request. The
    time prefix makes ids that are created in order sort in order, so the record store's indexes
    on them (ledger and trace ids) grow at their right edge instead of at random pages — about
    half the cost of a ledger insert on SQLite (as UUIDv7 does for the same reason).
    """
    return f"{time.time_ns() // 1000:014x}{random.getrandbits(72) | 1:018x}"


def valid_token(value: str | None) -> str | None:
    """``value`` when it is an acceptable id, else None."""
    if value and _TOKEN.match(value):
        return value
    return None


def trace_id_from_traceparent(value: str | None) -> str | None:
    """The trace id of a valid W3C ``traceparent`` header, else None."""
    if not value:
        return None
    match = _TRACEPARENT.match(value.strip().lower())
    if match is None or match.group(1) == "ff":
        return None
    trace_id, parent = match.group(2), match.group(3)
    if trace_id == _ZERO_TRACE or parent == _ZERO_PARENT:
        return None
    return trace_id


def choose_trace_id(x_trace_id: str | None, traceparent: str | None) -> str:
    """The caller's trace id if it sent a usable one, else a fresh one."""
    return valid_token(x_trace_id) or trace_id_from_traceparent(traceparent) or new_id()


def ids_from_raw_headers(headers: Iterable[tuple[bytes, bytes]]) -> tuple[str, str, int | None]:
    """``(trace_id, request_id, content_length)`` from ASGI raw headers in one pass.

    ``content_length`` is None when absent or not a number.
    """
    x_trace = parent = request_id = None
    length: int | None = None
    for name, value in headers:
        if name == b"x-trace-id":
            x_trace = value.decode("latin-1")
        elif name == b"traceparent":
            parent = value.decode("latin-1")
        elif name == b"x-request-id":
            request_id = value.decode("latin-1")
        elif name == b"content-length":
            length = int(value) if value.isdigit() else None
    return choose_trace_id(x_trace, parent), valid_token(request_id) or new_id(), length
