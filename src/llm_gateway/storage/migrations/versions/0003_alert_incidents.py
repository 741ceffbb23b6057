"""Alert incidents: each incident fired, notified and resolved, at most one open per rule and
scope key.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from llm_gateway.storage.schema import Json, UtcDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alert_incidents",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("rule", sa.String(128), nullable=False),
        sa.Column("scope_key", sa.String(256), nullable=False),
        sa.Column("condition", sa.String(256), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("started_at", UtcDateTime, nullable=False),
        sa.Column("last_notified_at", UtcDateTime, nullable=False),
        sa.Column("notifications", sa.Integer, nullable=False),
        sa.Column("resolved_at", UtcDateTime),
        sa.Column("detail", Json),
    )
    op.create_index("ix_alert_incidents_started", "alert_incidents", ["started_at"])
    op.create_index(
        "ux_alert_incidents_open",
        "alert_incidents",
        ["rule", "scope_key"],
        unique=True,
        sqlite_where=sa.text("resolved_at IS NULL"),
        postgresql_where=sa.text("resolved_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ux_alert_incidents_open", table_name="alert_incidents")
    op.drop_index("ix_alert_incidents_started", table_name="alert_incidents")
    op.drop_table("alert_incidents")
