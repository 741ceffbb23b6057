"""The record store's first schema: ledger, traces, admin state, audit log, config versions.

Revision ID: 0001
Revises:
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from llm_gateway.storage.schema import ExactDecimal, Json, UtcDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _bigint_id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "ledger",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("at", UtcDateTime, primary_key=True),
        sa.Column("trace_id", sa.String(128), nullable=False),
        sa.Column("node", sa.String(128), nullable=False),
        sa.Column("caller_node", sa.String(128)),
        sa.Column("client_key_id", sa.String(64)),
        sa.Column("user_id", sa.String(128)),
        sa.Column("arm", sa.String(16)),
        sa.Column("strategy", sa.String(32)),
        sa.Column("requested_model", sa.String(128)),
        sa.Column("model", sa.String(128)),
        sa.Column("provider", sa.String(64)),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("fallback_used", sa.Boolean, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error_type", sa.String(64)),
        sa.Column("input_tokens", sa.Integer, nullable=False),
        sa.Column("output_tokens", sa.Integer, nullable=False),
        sa.Column("cached_tokens", sa.Integer, nullable=False),
        sa.Column("reasoning_tokens", sa.Integer, nullable=False),
        sa.Column("cost_usd", ExactDecimal(), nullable=False),
        sa.Column("cost_source", sa.String(16), nullable=False),
        sa.Column("latency_ms", sa.Float, nullable=False),
        sa.Column("ttft_ms", sa.Float),
        sa.Column("stream", sa.Boolean, nullable=False),
        sa.Column("cache_hit", sa.Boolean, nullable=False),
        sa.Column("capabilities", sa.String(256)),
        postgresql_partition_by="RANGE (at)",
    )
    if postgres:
        # Rows outside every monthly partition land here; retention adds months ahead of time.
        op.execute("CREATE TABLE ledger_default PARTITION OF ledger DEFAULT")
    op.create_index("ix_ledger_at", "ledger", ["at"])
    op.create_index("ix_ledger_trace", "ledger", ["trace_id"])

    op.create_table(
        "traces",
        sa.Column("request_id", sa.String(32), primary_key=True),
        sa.Column("trace_id", sa.String(128), nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("node", sa.String(128), nullable=False),
        sa.Column("model", sa.String(128)),
        sa.Column("ok", sa.Boolean, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("duration_ms", sa.Float, nullable=False),
        sa.Column("body", Json, nullable=False),
    )
    op.create_index("ix_traces_trace", "traces", ["trace_id"])
    op.create_index("ix_traces_at", "traces", ["at"])

    op.create_table(
        "admin_state",
        sa.Column("kind", sa.String(32), primary_key=True),
        sa.Column("key", sa.String(256), primary_key=True),
        sa.Column("value", Json, nullable=False),
        sa.Column("actor", sa.String(128)),
        sa.Column("updated_at", UtcDateTime, nullable=False),
    )
    op.create_table(
        "audit_log",
        sa.Column("seq", _bigint_id(), primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(32), nullable=False, unique=True),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target", sa.String(256), nullable=False),
        sa.Column("before", Json),
        sa.Column("after", Json),
        sa.Column("client", sa.String(128)),
        sa.Column("forced", sa.Boolean, nullable=False),
        sa.Column("detail", sa.Text),
    )
    op.create_index("ix_audit_at", "audit_log", ["at"])
    op.create_table(
        "config_applied",
        sa.Column("seq", _bigint_id(), primary_key=True, autoincrement=True),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("config_dir", sa.Text),
        sa.Column("actor", sa.String(128)),
    )


def downgrade() -> None:
    op.drop_table("config_applied")
    op.drop_index("ix_audit_at", table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_table("admin_state")
    op.drop_index("ix_traces_at", table_name="traces")
    op.drop_index("ix_traces_trace", table_name="traces")
    op.drop_table("traces")
    for name in ("ix_ledger_trace", "ix_ledger_at"):
        op.drop_index(name, table_name="ledger")
    op.drop_table("ledger")  # on PostgreSQL its partitions go with it
