"""Test copies: every test copy the product makes in n8n is recorded, so the sweep deletes only
those (by n8n id), never a workflow it merely finds by its name

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "test_copies",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("project_id", sa.BigInteger(), nullable=True),
        sa.Column("path", sa.String(length=80), nullable=False),
        sa.Column("n8n_workflow_id", sa.String(length=64), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_test_copies_project_id_projects"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_test_copies")),
        sa.UniqueConstraint("path", name=op.f("uq_test_copies_path")),
        sa.UniqueConstraint("n8n_workflow_id", name=op.f("uq_test_copies_n8n_workflow_id")),
    )
    op.create_index(op.f("ix_test_copies_created_at"), "test_copies", ["created_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_test_copies_created_at"), table_name="test_copies")
    op.drop_table("test_copies")
