"""Slack triggers' webhook secrets sealed at rest under CLIXEN_SECRET_KEY (like project secrets):
`trigger_endpoints.secret` (plain text) becomes `secret_sealed`; existing rows are converted, so
the key must be set when there are any. The downgrade opens them back into plain text.

Revision ID: harden2_trigger_secret_sealed
Revises: review_version_reviews
Create Date: 2026-12-07 14:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

from core.kernel.sealing import Unreadable, seal, unseal
from core.kernel.settings import Settings

revision: str = "harden2_trigger_secret_sealed"
down_revision: str | None = "review_version_reviews"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_T = sa.table(
    "trigger_endpoints",
    sa.column("id", sa.BigInteger()),
    sa.column("workflow_id", sa.BigInteger()),
    sa.column("secret", sa.String()),
    sa.column("secret_sealed", sa.LargeBinary()),
)


def _binding(workflow_id: int) -> str:
    return f"clixen-trigger:{workflow_id}"  # as core.triggers.endpoints binds it


def _key(session: Session, direction: str) -> str:
    if session.execute(sa.select(sa.func.count()).select_from(_T)).scalar_one() == 0:
        return ""
    key = Settings().secret_key
    if not key:
        raise RuntimeError(
            f"CLIXEN_SECRET_KEY is not set: it is needed to {direction} the webhook secrets of "
            "existing Slack triggers. Set it (the key Clixen runs with) and run the migration "
            "again."
        )
    return key


def upgrade() -> None:
    with op.batch_alter_table("trigger_endpoints") as batch:
        batch.add_column(sa.Column("secret_sealed", sa.LargeBinary(), nullable=True))
    session = Session(bind=op.get_bind())
    key = _key(session, "seal")
    for row_id, workflow_id, secret in session.execute(
        sa.select(_T.c.id, _T.c.workflow_id, _T.c.secret)
    ).all():
        sealed = seal(session, value=secret, key=key, binding=_binding(workflow_id))
        session.execute(sa.update(_T).where(_T.c.id == row_id).values(secret_sealed=sealed))
    with op.batch_alter_table("trigger_endpoints") as batch:
        batch.alter_column("secret_sealed", existing_type=sa.LargeBinary(), nullable=False)
        batch.drop_column("secret")


def downgrade() -> None:
    with op.batch_alter_table("trigger_endpoints") as batch:
        batch.add_column(sa.Column("secret", sa.String(length=128), nullable=True))
    session = Session(bind=op.get_bind())
    key = _key(session, "open")
    for row_id, workflow_id, sealed in session.execute(
        sa.select(_T.c.id, _T.c.workflow_id, _T.c.secret_sealed)
    ).all():
        try:
            plain = unseal(session, blob=sealed, key=key, binding=_binding(workflow_id))
        except Unreadable:
            raise RuntimeError(
                f"The webhook secret of workflow {workflow_id} does not open with "
                "CLIXEN_SECRET_KEY: set the key Clixen ran with."
            ) from None
        session.execute(sa.update(_T).where(_T.c.id == row_id).values(secret=plain))
    with op.batch_alter_table("trigger_endpoints") as batch:
        batch.alter_column("secret", existing_type=sa.String(length=128), nullable=False)
        batch.drop_column("secret_sealed")
