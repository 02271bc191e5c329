"""Connected accounts: OAuth apps (one per provider), single-use connect links, and the
accounts connected through OAuth2

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _created() -> sa.Column[sa.DateTime]:
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "oauth_apps",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("provider", sa.String(40), nullable=False),
        sa.Column("client_id", sa.String(500), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("auth_url", sa.String(1000), nullable=True),
        sa.Column("token_url", sa.String(1000), nullable=True),
        sa.Column("scope", sa.String(1000), nullable=True),
        sa.Column("set_by", sa.String(64), nullable=False),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        _created(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oauth_apps")),
        sa.UniqueConstraint("provider", name=op.f("uq_oauth_apps_provider")),
    )
    op.create_table(
        "connect_requests",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("state_hash", sa.String(64), nullable=False),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("project_id", BigId, nullable=False),
        sa.Column("run_id", BigId, nullable=True),
        sa.Column("service", sa.String(40), nullable=False),
        sa.Column("credential_type", sa.String(100), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("n8n_credential_id", sa.String(64), nullable=True),
        sa.Column("n8n_updated_at", sa.String(40), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=True),
        _created(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connect_requests")),
        sa.UniqueConstraint("state_hash", name=op.f("uq_connect_requests_state_hash")),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_connect_requests_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["pipeline_runs.id"],
            name=op.f("fk_connect_requests_run_id_pipeline_runs"),
            ondelete="SET NULL",
        ),
    )
    op.create_table(
        "connected_accounts",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("project_id", BigId, nullable=False),
        sa.Column("secret_id", BigId, nullable=False),
        sa.Column("service", sa.String(40), nullable=False),
        sa.Column("credential_type", sa.String(100), nullable=False),
        sa.Column("n8n_credential_id", sa.String(64), nullable=False),
        sa.Column("account", sa.String(320), nullable=True),
        sa.Column("connected_by", sa.String(64), nullable=False),
        sa.Column("connected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("needs_reconnect_at", sa.DateTime(timezone=True), nullable=True),
        _created(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connected_accounts")),
        sa.UniqueConstraint("secret_id", name=op.f("uq_connected_accounts_secret_id")),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_connected_accounts_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["secret_id"],
            ["secrets.id"],
            name=op.f("fk_connected_accounts_secret_id_secrets"),
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        op.f("ix_connected_accounts_n8n_credential_id"),
        "connected_accounts",
        ["n8n_credential_id"],
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_connected_accounts_n8n_credential_id"), table_name="connected_accounts")
    op.drop_table("connected_accounts")
    op.drop_table("connect_requests")
    op.drop_table("oauth_apps")
