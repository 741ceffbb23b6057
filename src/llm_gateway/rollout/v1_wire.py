"""The wire form of a legacy (v1) request's record, reported by a shim in another process.

A legacy client with ``GATEWAY_URL`` set calls its v1 model directly (no gateway hop: v1 is the
rollback path), then reports what the call did to the served gateway,
``POST /v1/rollout/records`` with ``{"records": [V1Record, ...]}`` (at most
:data:`MAX_BATCH`), so that gateway's ledger, rollback guard and cost report see v1 traffic.
Both sides use these models: the shim builds them from its ledger row (:func:`wire_record`), the
gateway validates every field (unknown fields are errors; 422 naming the field).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from llm_gateway.storage.records import LedgerRow

RECORDS_PATH = "/v1/rollout/records"
MAX_BATCH = 500
"""Records per POST; a larger batch is refused whole (422 on ``records``)."""

MAX_TOKENS = 100_000_000
MAX_COST_USD = Decimal(10_000)
MAX_LATENCY_MS = 24 * 3600 * 1000.0

Tokens = Annotated[int, Field(ge=0, le=MAX_TOKENS, strict=True)]
Millis = Annotated[float, Field(ge=0, le=MAX_LATENCY_MS, allow_inf_nan=False)]


class V1Record(BaseModel):
    """What one v1 request did: the facts of its ledger row (the gateway adds the rest)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[A-Za-z0-9_-]{8,32}$")
    """Unique per request: the gateway stores each id once, however often it is sent."""
    at: AwareDatetime
    trace_id: str = Field(pattern=r"^[A-Za-z0-9._:\-]{1,128}$")
    node: str = Field(pattern=r"^[A-Za-z0-9_.:*\-]{1,128}$")
    """The node of the legacy purpose (``formatting`` → ``formatter``)."""
    model: str = Field(pattern=r"^[A-Za-z0-9_.:/@+\-]{1,128}$")
    """The exact model called: a logical id (or provider model id) of the gateway's catalogue."""
    user_id: str | None = Field(default=None, pattern=r"^[^\x00-\x1f\x7f]{1,128}$")
    status: Literal["ok", "error", "cancelled"]
    error_type: str | None = Field(
        default=None, pattern=r"^[A-Za-z0-9_.:\-]{1,64}$", validate_default=True
    )
    """What failed (the error's code or type), for status ``error`` only."""
    input_tokens: Tokens = 0
    output_tokens: Tokens = 0
    cached_tokens: Tokens = 0
    reasoning_tokens: Tokens = 0
    latency_ms: Millis
    ttft_ms: Millis | None = None
    stream: bool = Field(default=False, strict=True)
    cost_usd: Decimal = Field(ge=0, le=MAX_COST_USD, allow_inf_nan=False)
    cost_source: Literal["provider", "policy", "none"]
    """``provider``: the provider reported what it charged (kept as sent); ``policy``: list
    prices (the gateway recomputes it from its own catalogue); ``none``: nothing to bill."""

    @field_validator("error_type")
    @classmethod
    def _only_for_errors(cls, value: str | None, info: ValidationInfo) -> str | None:
        failed = info.data.get("status") == "error"
        if failed and value is None:
            raise ValueError("required when status is 'error'")
        if not failed and value is not None:
            raise ValueError("only for status 'error'")
        return value


class V1RecordBatch(BaseModel):
    """The body of ``POST /v1/rollout/records``."""

    model_config = ConfigDict(extra="forbid")

    records: list[V1Record] = Field(min_length=1, max_length=MAX_BATCH)


def wire_record(row: LedgerRow, node: str) -> dict[str, Any]:
    """The JSON form of a v1 ledger row, for the batch; ``node`` is the purpose's node as the
    caller named it (the gateway labels it with its own catalogue)."""
    return {
        "id": row.id,
        "at": row.at.isoformat(),
        "trace_id": row.trace_id,
        "node": node,
        "model": row.model,
        "user_id": row.user_id,
        "status": row.status,
        "error_type": row.error_type,
        "input_tokens": row.input_tokens,
        "output_tokens": row.output_tokens,
        "cached_tokens": row.cached_tokens,
        "reasoning_tokens": row.reasoning_tokens,
        "latency_ms": row.latency_ms,
        "ttft_ms": row.ttft_ms,
        "stream": row.stream,
        "cost_usd": format(row.cost_usd, "f"),
        "cost_source": row.cost_source,
    }
