"""The rows the request path hands to the record store: a ledger row per request, built in O(1)
from what the gateway already holds, and its JSON form for the spool."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson


@dataclass(slots=True)
class LedgerRow:
    """One request: who asked, what answered, what it cost (exact), how long it took."""

    id: str
    at: datetime
    trace_id: str
    node: str
    status: str  # ok | error | cancelled | refused
    cost_usd: Decimal
    cost_source: str  # provider | policy | none
    latency_ms: float
    caller_node: str | None = None
    client_key_id: str | None = None
    user_id: str | None = None
    arm: str | None = None
    strategy: str | None = None
    requested_model: str | None = None
    model: str | None = None
    provider: str | None = None
    attempts: int = 0
    fallback_used: bool = False
    error_type: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    ttft_ms: float | None = None
    stream: bool = False
    cache_hit: bool = False
    capabilities: str | None = None
    saved_usd: Decimal | None = None  # a cache hit: the cost of the answer it replayed

    def as_row(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def to_json(self) -> dict[str, Any]:
        out = {name: getattr(self, name) for name in LEDGER_FIELDS}
        out["at"] = self.at.isoformat()
        out["cost_usd"] = format(self.cost_usd, "f")
        if self.saved_usd is not None:
            out["saved_usd"] = format(self.saved_usd, "f")
        return out

    def to_json_bytes(self) -> bytes:
        """One spool line (orjson serialises the slots dataclass natively: ~1 µs)."""
        return orjson.dumps(self, default=_exact) + b"\n"

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LedgerRow:
        values = dict(data)
        values["at"] = datetime.fromisoformat(values["at"])
        values["cost_usd"] = Decimal(values["cost_usd"])
        if values.get("saved_usd") is not None:
            values["saved_usd"] = Decimal(values["saved_usd"])
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})


LEDGER_FIELDS = tuple(f.name for f in fields(LedgerRow))


def _exact(value: Any) -> str:
    if isinstance(value, Decimal):
        return format(value, "f")
    raise TypeError(f"cannot serialise {type(value).__name__}")


def utc_from_timestamp(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


@dataclass(slots=True)
class TraceRecord:
    """A sampled trace, rendered (JSON-ready, redacted) before it is handed over."""

    request_id: str
    trace_id: str
    at: datetime
    node: str
    model: str | None
    ok: bool
    status: str
    duration_ms: float
    # A dict (still holding request-path objects to render, unless ``rendered``), or the
    # rendered JSON text itself.
    body: dict[str, Any] | str
    rendered: bool = False

    def as_row(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "rendered"}
