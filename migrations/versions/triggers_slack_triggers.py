"""Slack triggers: each workflow's webhook endpoint in n8n, what its active version listens to,
and the outbox of events to deliver (unique by event id and workflow)

Revision ID: triggers_slack
Revises: harden_attempts_scopes
Create Date: 2026-12-07 11:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "triggers_slack"
down_revision: str | None = "harden_attempts_scopes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _created() -> sa.Column[sa.DateTime]:
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
    )


def _workflow_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["workflow_id"],
        ["workflows.id"],
        name=op.f(f"fk_{table}_workflow_id_workflows"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "trigger_endpoints",
        sa.Column("id", BigId, nullable=False),
        sa.Column("workflow_id", sa.BigInteger(), nullable=False),
        sa.Column("path", sa.String(length=80), nullable=False),
        sa.Column("secret", sa.String(length=128), nullable=False),
        sa.Column("n8n_credential_id", sa.String(length=64), nullable=True),
        _created(),
        _workflow_fk("trigger_endpoints"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trigger_endpoints")),
        sa.UniqueConstraint("workflow_id", name=op.f("uq_trigger_endpoints_workflow_id")),
        sa.UniqueConstraint("path", name=op.f("uq_trigger_endpoints_path")),
    )
    op.create_table(
        "trigger_subscriptions",
        sa.Column("id", BigId, nullable=False),
        sa.Column("workflow_id", sa.BigInteger(), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("channel_id", sa.String(length=32), nullable=False),
        sa.Column("filters", Json, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        _created(),
        _workflow_fk("trigger_subscriptions"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trigger_subscriptions")),
        sa.UniqueConstraint(
            "workflow_id",
            "event",
            "channel_id",
            name=op.f("uq_trigger_subscriptions_workflow_id_event_channel_id"),
        ),
    )
    op.create_index(
        "ix_trigger_subscriptions_team_event",
        "trigger_subscriptions",
        ["team_id", "event", "channel_id"],
    )
    op.create_table(
        "trigger_deliveries",
        sa.Column("id", BigId, nullable=False),
        sa.Column("event_id", sa.String(length=128), nullable=False),
        sa.Column("workflow_id", sa.BigInteger(), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("payload", Json, nullable=False),
        sa.Column("enriched", sa.Boolean(), nullable=False),
        sa.Column("check_reader", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        _created(),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        _workflow_fk("trigger_deliveries"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trigger_deliveries")),
        sa.UniqueConstraint(
            "event_id", "workflow_id", name=op.f("uq_trigger_deliveries_event_id_workflow_id")
        ),
    )
    op.create_index(
        "ix_trigger_deliveries_due", "trigger_deliveries", ["status", "next_attempt_at"]
    )
    op.create_index(
        "ix_trigger_deliveries_workflow_created",
        "trigger_deliveries",
        ["workflow_id", "created_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_trigger_deliveries_workflow_created", table_name="trigger_deliveries")
    op.drop_index("ix_trigger_deliveries_due", table_name="trigger_deliveries")
    op.drop_table("trigger_deliveries")
    op.drop_index("ix_trigger_subscriptions_team_event", table_name="trigger_subscriptions")
    op.drop_table("trigger_subscriptions")
    op.drop_table("trigger_endpoints")
