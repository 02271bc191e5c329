"""Project removals: a member an owner removed stays out of the shared "default" project

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "project_removals",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "project_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("removed_by", sa.String(length=64), nullable=False),
        sa.Column(
            "removed_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_project_removals_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project_removals")),
        sa.UniqueConstraint(
            "project_id", "user_id", name=op.f("uq_project_removals_project_id_user_id")
        ),
    )


def downgrade() -> None:
    op.drop_table("project_removals")
