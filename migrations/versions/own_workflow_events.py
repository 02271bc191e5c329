"""Workflow events: who paused, resumed, renamed, deleted or restored a workflow, and when;
a project's opt-in digest (channel, daily or weekly, when last sent)

Revision ID: own_workflow_events
Revises: creds_oauth_hosts
Create Date: 2026-12-07 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "own_workflow_events"
down_revision: str | None = "creds_oauth_hosts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "workflow_events",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("workflow_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.String(length=420), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["workflow_id"],
            ["workflows.id"],
            name=op.f("fk_workflow_events_workflow_id_workflows"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workflow_events")),
    )
    op.create_index(
        op.f("ix_workflow_events_workflow_id"), "workflow_events", ["workflow_id"], unique=False
    )
    op.add_column("projects", sa.Column("digest_channel", sa.String(length=32), nullable=True))
    op.add_column("projects", sa.Column("digest_every", sa.String(length=8), nullable=True))
    op.add_column(
        "projects", sa.Column("digest_sent_at", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("projects", "digest_sent_at")
    op.drop_column("projects", "digest_every")
    op.drop_column("projects", "digest_channel")
    op.drop_index(op.f("ix_workflow_events_workflow_id"), table_name="workflow_events")
    op.drop_table("workflow_events")
