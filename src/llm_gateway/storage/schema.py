"""The record store's tables (SQLAlchemy Core), shared by SQLite and PostgreSQL.

- ``ledger``: one row per request, whatever the sampling — refused and failed ones included.
  Costs are exact decimals (``ExactDecimal``): NUMERIC on PostgreSQL, decimal text on SQLite
  (whose NUMERIC is a float). On PostgreSQL the table is partitioned by month on ``at``
  (created by the first migration; :mod:`llm_gateway.storage.retention` adds months ahead and
  drops expired ones), so its key is ``(id, at)``.
- ``traces``: the sampled full traces, keyed by request id and grouped by trace id.
- ``alert_incidents``: each alert incident (fired, notified, resolved), at most one open per
  rule and scope key.
- ``shadow_comparisons``: one row per shadow run (issue 12): a v1 call and the same request
  through v2 in the background — both sides' trace, model, latency, cost, output length and
  failure, and how alike the two outputs are.
- ``admin_state``: overrides, disabled models and runtime flags — what the gateway applies at
  start-up; ``audit_log``: who changed them; ``config_applied``: the config versions applied.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator, TypeEngine

metadata = MetaData()


class ExactDecimal(TypeDecorator[Decimal]):
    """An exact decimal: NUMERIC(38, 18) where the database has one, decimal text on SQLite."""

    impl = Numeric(38, 18)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(48))
        return dialect.type_descriptor(Numeric(38, 18, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        value = Decimal(value)
        return format(value, "f") if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(value).normalize() if not isinstance(value, Decimal) else value.normalize()


Json = JSON().with_variant(JSONB(), "postgresql")
UtcDateTime = DateTime(timezone=True)

ledger = Table(
    "ledger",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("at", UtcDateTime, primary_key=True),
    Column("trace_id", String(128), nullable=False),
    Column("node", String(128), nullable=False),
    Column("caller_node", String(128)),
    Column("client_key_id", String(64)),
    Column("user_id", String(128)),
    Column("arm", String(16)),
    Column("strategy", String(32)),
    Column("requested_model", String(128)),
    Column("model", String(128)),
    Column("provider", String(64)),
    Column("attempts", Integer, nullable=False, default=0),
    Column("fallback_used", Boolean, nullable=False, default=False),
    Column("status", String(16), nullable=False),
    Column("error_type", String(64)),
    Column("input_tokens", Integer, nullable=False, default=0),
    Column("output_tokens", Integer, nullable=False, default=0),
    Column("cached_tokens", Integer, nullable=False, default=0),
    Column("reasoning_tokens", Integer, nullable=False, default=0),
    Column("cost_usd", ExactDecimal(), nullable=False),
    Column("cost_source", String(16), nullable=False),
    Column("latency_ms", Float, nullable=False),
    Column("ttft_ms", Float),
    Column("stream", Boolean, nullable=False, default=False),
    Column("cache_hit", Boolean, nullable=False, default=False),
    Column("capabilities", String(256)),
    # A cache hit: what the answer cost when it was made (the request itself costs 0).
    Column("saved_usd", ExactDecimal()),
    Index("ix_ledger_at", "at"),
    Index("ix_ledger_trace", "trace_id"),
)

traces = Table(
    "traces",
    metadata,
    Column("request_id", String(32), primary_key=True),
    Column("trace_id", String(128), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("node", String(128), nullable=False),
    Column("model", String(128)),
    Column("ok", Boolean, nullable=False),
    Column("status", String(16), nullable=False),
    Column("duration_ms", Float, nullable=False),
    Column("body", Json, nullable=False),
    Index("ix_traces_trace", "trace_id"),
    Index("ix_traces_at", "at"),
)

admin_state = Table(
    "admin_state",
    metadata,
    Column("kind", String(32), primary_key=True),
    Column("key", String(256), primary_key=True),
    Column("value", Json, nullable=False),
    Column("actor", String(128)),
    Column("updated_at", UtcDateTime, nullable=False),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column(
        "seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("id", String(32), nullable=False, unique=True),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(128), nullable=False),
    Column("action", String(64), nullable=False),
    Column("target", String(256), nullable=False),
    Column("before", Json),
    Column("after", Json),
    Column("client", String(128)),
    Column("forced", Boolean, nullable=False, default=False),
    Column("detail", Text),
    Index("ix_audit_at", "at"),
)

config_applied = Table(
    "config_applied",
    metadata,
    Column(
        "seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("version", String(64), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("config_dir", Text),
    Column("actor", String(128)),
)

alert_incidents = Table(
    "alert_incidents",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("rule", String(128), nullable=False),
    Column("scope_key", String(256), nullable=False),
    Column("condition", String(256), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("value", Float, nullable=False),
    Column("summary", Text, nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("last_notified_at", UtcDateTime, nullable=False),
    Column("notifications", Integer, nullable=False, default=1),
    Column("resolved_at", UtcDateTime),
    Column("detail", Json),
    Index("ix_alert_incidents_started", "started_at"),
    # At most one open incident per rule and scope key, whoever evaluates: the database is the
    # last word on "already firing" even if two evaluators ever overlapped.
    Index(
        "ux_alert_incidents_open",
        "rule",
        "scope_key",
        unique=True,
        sqlite_where=Column("resolved_at").is_(None),
        postgresql_where=Column("resolved_at").is_(None),
    ),
)

shadow_comparisons = Table(
    "shadow_comparisons",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("at", UtcDateTime, nullable=False),
    Column("arm", String(16), nullable=False),  # "shadow": never caller traffic
    Column("node", String(128), nullable=False),
    Column("purpose", String(128), nullable=False),
    Column("stream", Boolean, nullable=False, default=False),
    Column("v1_trace_id", String(128)),
    Column("v2_trace_id", String(128)),
    Column("v1_model", String(128), nullable=False),
    Column("v2_model", String(128)),
    Column("v1_latency_ms", Float),
    Column("v2_latency_ms", Float),
    Column("v1_cost_usd", ExactDecimal()),
    Column("v2_cost_usd", ExactDecimal()),
    Column("v1_output_chars", Integer),
    Column("v2_output_chars", Integer),
    Column("similarity", Float),  # None unless both answered
    Column("v1_ok", Boolean, nullable=False),
    Column("v2_ok", Boolean, nullable=False),
    Column("v1_error", String(256)),
    Column("v2_error", String(256)),
    Index("ix_shadow_comparisons_at", "at"),
)
