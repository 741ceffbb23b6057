"""Shadow comparisons: one row per v1 call also run through v2 in the background (shadow
traffic), with both sides' outcome and the similarity of their outputs.

Revision ID: 0005
Revises: 0003
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from llm_gateway.storage.schema import ExactDecimal, UtcDateTime

revision = "0005"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "shadow_comparisons",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("arm", sa.String(16), nullable=False),
        sa.Column("node", sa.String(128), nullable=False),
        sa.Column("purpose", sa.String(128), nullable=False),
        sa.Column("stream", sa.Boolean, nullable=False),
        sa.Column("v1_trace_id", sa.String(128)),
        sa.Column("v2_trace_id", sa.String(128)),
        sa.Column("v1_model", sa.String(128), nullable=False),
        sa.Column("v2_model", sa.String(128)),
        sa.Column("v1_latency_ms", sa.Float),
        sa.Column("v2_latency_ms", sa.Float),
        sa.Column("v1_cost_usd", ExactDecimal()),
        sa.Column("v2_cost_usd", ExactDecimal()),
        sa.Column("v1_output_chars", sa.Integer),
        sa.Column("v2_output_chars", sa.Integer),
        sa.Column("similarity", sa.Float),
        sa.Column("v1_ok", sa.Boolean, nullable=False),
        sa.Column("v2_ok", sa.Boolean, nullable=False),
        sa.Column("v1_error", sa.String(256)),
        sa.Column("v2_error", sa.String(256)),
    )
    op.create_index("ix_shadow_comparisons_at", "shadow_comparisons", ["at"])


def downgrade() -> None:
    op.drop_index("ix_shadow_comparisons_at", table_name="shadow_comparisons")
    op.drop_table("shadow_comparisons")
