"""The ledger records what a cache hit saved: ``saved_usd``, the cost of the replayed answer.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from llm_gateway.storage.schema import ExactDecimal

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # On PostgreSQL the ledger is partitioned: the column reaches every partition.
    op.add_column("ledger", sa.Column("saved_usd", ExactDecimal(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ledger") as batch:  # SQLite rebuilds the table
        batch.drop_column("saved_usd")
