"""Deploy attempts (reconciliation deletes only n8n workflows whose create Clixen recorded and
never learnt the id of) and read-only API tokens

Revision ID: harden_attempts_scopes
Revises: 0006
Create Date: 2026-12-07 11:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "harden_attempts_scopes"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "deploy_attempts",
        sa.Column("deploy", sa.String(length=32), nullable=False),
        sa.Column("workflow_id", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("n8n_workflow_id", sa.String(length=64), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("deploy", name=op.f("pk_deploy_attempts")),
    )
    op.create_index(op.f("ix_deploy_attempts_created_at"), "deploy_attempts", ["created_at"])
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(
            sa.Column("read_only", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("read_only")
    op.drop_index(op.f("ix_deploy_attempts_created_at"), table_name="deploy_attempts")
    op.drop_table("deploy_attempts")
