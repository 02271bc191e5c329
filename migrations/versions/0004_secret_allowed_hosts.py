"""Secrets carry the hosts their owner allows them to be sent to; every n8n credential is
written again (with its domain restriction) on its next use

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("secrets") as batch:
        batch.add_column(
            sa.Column("allowed_hosts", sa.JSON().with_variant(JSONB(), "postgresql"), nullable=True)
        )
    # Credentials written before domain restrictions existed are rewritten on their next use.
    op.execute("UPDATE secrets SET n8n_synced_at = NULL")


def downgrade() -> None:
    with op.batch_alter_table("secrets") as batch:
        batch.drop_column("allowed_hosts")
