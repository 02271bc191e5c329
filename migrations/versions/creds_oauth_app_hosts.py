"""Connected accounts stay in their service: the generic OAuth2 app names the hosts its tokens may
be sent to, and every connected account's n8n credential is written again with its domain
restriction (its secret marked not synced)

Revision ID: creds_oauth_hosts
Revises: triggers_slack
Create Date: 2026-12-07 11:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "creds_oauth_hosts"
down_revision: str | None = "triggers_slack"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("oauth_apps") as batch:
        batch.add_column(
            sa.Column("allowed_hosts", sa.JSON().with_variant(JSONB(), "postgresql"), nullable=True)
        )
    # Connected before credentials carried a restriction: `clixen secret resync` writes them.
    op.execute(
        "UPDATE secrets SET n8n_synced_at = NULL "
        "WHERE id IN (SELECT secret_id FROM connected_accounts)"
    )


def downgrade() -> None:
    with op.batch_alter_table("oauth_apps") as batch:
        batch.drop_column("allowed_hosts")
