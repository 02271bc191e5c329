"""Connected accounts as project secrets: the only place (with `core.credentials.secrets`) that
writes `Secret` rows for them. An account is a secret whose value is only a marker (its n8n
credential holds the token, refreshed by n8n) plus a `ConnectedAccount` row saying who connected
it. One account per user and service in a project: a second user connecting the same service
gets a secret of their own (GMAIL, then GMAIL_2, …), so neither ever gets the other's account.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from core.credentials.crypto import encrypt
from core.kernel.models import ConnectedAccount, Secret, Workflow
from core.kernel.vocabulary import WorkflowStatus

MARKER: Final = json.dumps({"connected_account": "oauth2"})
_MAX_ACCOUNTS: Final = 50


@dataclass(frozen=True)
class BoundAccount:
    """A bound account: its row, its secret's name, and the n8n credential it no longer uses
    (to delete from n8n once the transaction committed; None when there is none)."""

    row: ConnectedAccount
    secret_name: str
    superseded: str | None


def own_account(
    session: Session, *, project_id: int, service: str, user_id: str
) -> ConnectedAccount | None:
    """`user_id`'s account of `service` in the project, if they connected one."""
    return session.scalar(
        select(ConnectedAccount).where(
            ConnectedAccount.project_id == project_id,
            ConnectedAccount.service == service,
            ConnectedAccount.connected_by == user_id,
        )
    )


def _free_name(session: Session, project_id: int, base: str) -> str:
    taken = set(session.scalars(select(Secret.name).where(Secret.project_id == project_id)))
    for n in range(1, _MAX_ACCOUNTS + 1):
        name = base if n == 1 else f"{base}_{n}"
        if name not in taken:
            return name
    return f"{base}_{len(taken) + 1}"


def bind_account(
    session: Session,
    *,
    project_id: int,
    service: str,
    credential_type: str,
    secret_base: str,
    user_id: str,
    n8n_credential_id: str,
    account: str | None,
    allowed_hosts: Sequence[str],
    key: str,
    now: dt.datetime,
) -> BoundAccount:
    """Make `n8n_credential_id` (where n8n stored the token of this link's consent) `user_id`'s
    account of `service` in the project, atomically (the row is locked): a new secret for a first
    account, the same secret with the new credential swapped in for a reconnect. Workflows of
    the project that stopped for a reconnect run again."""
    row = own_account(session, project_id=project_id, service=service, user_id=user_id)
    secret = session.get(Secret, row.secret_id, with_for_update=True) if row is not None else None
    name = secret.name if secret is not None else _free_name(session, project_id, secret_base)
    sealed = encrypt(session, value=MARKER, key=key, project_id=project_id, name=name)
    if secret is None:
        secret = Secret(project_id=project_id, name=name, created_by=user_id, ciphertext=sealed)
        session.add(secret)
    superseded = secret.n8n_credential_id
    secret.ciphertext = sealed
    secret.credential_type = credential_type
    secret.allowed_hosts = list(allowed_hosts) or None
    secret.n8n_credential_id = n8n_credential_id
    # The n8n credential is current: a sync must never rewrite it from the marker.
    secret.updated_at = secret.n8n_synced_at = now
    session.flush()
    if row is None:
        row = ConnectedAccount(project_id=project_id, secret_id=secret.id)
        session.add(row)
    row.service, row.credential_type = service, credential_type
    row.n8n_credential_id = n8n_credential_id
    row.account, row.connected_by, row.connected_at = account, user_id, now
    row.needs_reconnect_at = None
    session.execute(
        update(Workflow)
        .where(
            Workflow.project_id == project_id,
            Workflow.status == WorkflowStatus.needs_reconnect,
        )
        .values(status=WorkflowStatus.active)
    )
    session.flush()
    return BoundAccount(
        row, secret.name, superseded if superseded not in (None, n8n_credential_id) else None
    )


def credential_in_use(session: Session, credential_id: str) -> bool:
    """Whether a connected account or a secret still holds this n8n credential."""
    return (
        session.scalar(select(Secret.id).where(Secret.n8n_credential_id == credential_id))
        is not None
        or session.scalar(
            select(ConnectedAccount.id).where(ConnectedAccount.n8n_credential_id == credential_id)
        )
        is not None
    )


def remove_account(session: Session, row: ConnectedAccount) -> str:
    """Delete the account and its secret; returns its n8n credential id (to delete from n8n
    once the transaction committed)."""
    credential_id = row.n8n_credential_id
    # The account goes with its secret (ON DELETE CASCADE).
    session.execute(delete(Secret).where(Secret.id == row.secret_id))
    return credential_id


def mark_synced(session: Session, *, secret_id: int, at: dt.datetime) -> None:
    """The account's n8n credential carries what Clixen writes on it (its restriction) as of
    `at`; the secret's value (a marker) is unchanged."""
    session.execute(
        update(Secret)
        .where(Secret.id == secret_id)
        .values(n8n_synced_at=at, updated_at=Secret.updated_at)
        .execution_options(synchronize_session=False)
    )


def named_accounts(
    session: Session,
    *,
    project_id: int,
    service: str | None = None,
    n8n_credential_ids: Iterable[str] | None = None,
) -> list[tuple[ConnectedAccount, str]]:
    """The project's connected accounts (of `service`, or holding one of `n8n_credential_ids`,
    when given), each with its secret's name, by service then oldest first."""
    query = (
        select(ConnectedAccount, Secret.name)
        .join(Secret, Secret.id == ConnectedAccount.secret_id)
        .where(ConnectedAccount.project_id == project_id)
        .order_by(ConnectedAccount.service, ConnectedAccount.id)
    )
    if service is not None:
        query = query.where(ConnectedAccount.service == service)
    if n8n_credential_ids is not None:
        query = query.where(ConnectedAccount.n8n_credential_id.in_(list(n8n_credential_ids)))
    return [(row, name) for row, name in session.execute(query).all()]


@dataclass(frozen=True)
class UnsyncedAccount:
    """A connected account whose n8n credential lacks what Clixen writes on it (its restriction)."""

    account: ConnectedAccount
    secret_id: int
    secret_name: str


def unsynced_accounts(session: Session) -> list[UnsyncedAccount]:
    """Every connected account whose n8n credential predates its restriction (an upgrade marked
    its secret unsynced), oldest first."""
    rows = session.execute(
        select(ConnectedAccount, Secret.id, Secret.name)
        .join(Secret, Secret.id == ConnectedAccount.secret_id)
        .where(Secret.n8n_synced_at.is_(None))
        .order_by(ConnectedAccount.id)
    ).all()
    return [UnsyncedAccount(account, secret_id, name) for account, secret_id, name in rows]
