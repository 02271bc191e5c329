"""Connected accounts: noticing that n8n stored a token, binding the account to the project,
listing, disconnecting, and the "needs reconnect" state.

An account is a project secret (so the pipeline binds it to nodes like any other) whose n8n
credential holds the token; the secret's own value is only a marker, never a token. n8n's
callback does not call Clixen, so `finish_connections` asks n8n, through the server-side
session, whether each opened link's credential now holds a new token.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from core.connect.connectable import secret_name_of, service_named
from core.connect.links import LINK_TTL
from core.credentials.crypto import encrypt
from core.kernel.errors import NotFound
from core.kernel.models import ConnectedAccount, ConnectRequest, Secret, Workflow
from core.kernel.vocabulary import Role, WorkflowStatus
from core.n8n import N8nClient, N8nError
from core.n8n.session import N8nUserSession
from core.workspace.projects import require_role

logger = logging.getLogger(__name__)

# n8n's message when it cannot refresh an OAuth2 token (n8n-core, `buildOAuth2ReconnectError`).
RECONNECT_MESSAGE: Final = "needs to be reconnected"
_MARKER: Final = json.dumps({"connected_account": "oauth2"})


@dataclass(frozen=True)
class AccountInfo:
    """What may be shown about a connected account (never a token)."""

    service: str
    label: str
    secret_name: str
    account: str | None
    connected_by: str
    connected_at: dt.datetime
    last_used_at: dt.datetime | None
    needs_reconnect: bool


@dataclass(frozen=True)
class Connected:
    """A connection n8n completed: the account, and the run that waited for it (if any)."""

    project_id: int
    team_id: str
    user_id: str
    run_id: int | None
    account: AccountInfo


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def _bind(session: Session, request: ConnectRequest, account: str | None, key: str) -> AccountInfo:
    """Create or refresh the project secret + connected account of a finished request."""
    service = service_named(request.service)
    name = secret_name_of(service.name)
    now = dt.datetime.now(dt.UTC)
    secret = session.scalar(
        select(Secret).where(Secret.project_id == request.project_id, Secret.name == name)
    )
    sealed = encrypt(session, value=_MARKER, key=key, project_id=request.project_id, name=name)
    if secret is None:
        secret = Secret(project_id=request.project_id, name=name, created_by=request.user_id)
        session.add(secret)
    secret.ciphertext = sealed
    secret.credential_type = service.credential_type
    secret.n8n_credential_id = request.n8n_credential_id
    # The n8n credential is current: ensure_credential must never rewrite it from the marker.
    secret.updated_at = secret.n8n_synced_at = now
    session.flush()
    row = session.scalar(select(ConnectedAccount).where(ConnectedAccount.secret_id == secret.id))
    if row is None:
        row = ConnectedAccount(project_id=request.project_id, secret_id=secret.id)
        session.add(row)
    row.service, row.credential_type = service.name, service.credential_type
    row.n8n_credential_id = str(request.n8n_credential_id)
    row.account, row.connected_by, row.connected_at = account, request.user_id, now
    row.needs_reconnect_at = None
    # Workflows that stopped on the revoked account run again with the new token.
    session.execute(
        update(Workflow)
        .where(
            Workflow.project_id == request.project_id,
            Workflow.status == WorkflowStatus.needs_reconnect,
        )
        .values(status=WorkflowStatus.active)
    )
    session.flush()
    return _info(row, secret.name)


def _info(row: ConnectedAccount, secret_name: str) -> AccountInfo:
    return AccountInfo(
        service=row.service,
        label=service_named(row.service).label,
        secret_name=secret_name,
        account=row.account,
        connected_by=row.connected_by,
        connected_at=row.connected_at,
        last_used_at=row.last_used_at,
        needs_reconnect=row.needs_reconnect_at is not None,
    )


def finish_connections(
    *,
    session_factory: sessionmaker[Session],
    n8n: N8nClient,
    n8n_session: N8nUserSession,
    key: str,
    now: dt.datetime | None = None,
) -> list[Connected]:
    """The opened links whose n8n credential now holds a new token, bound to their project
    (secret + account). Links opened longer than `LINK_TTL` ago without a token are given up
    (their new n8n credential deleted)."""
    now = now or dt.datetime.now(dt.UTC)
    with session_factory() as session:
        pending = [
            (r.id, r.n8n_credential_id, r.n8n_updated_at, _aware(r.opened_at))
            for r in session.scalars(
                select(ConnectRequest).where(
                    ConnectRequest.opened_at.is_not(None),
                    ConnectRequest.finished_at.is_(None),
                    ConnectRequest.outcome.is_(None),
                    ConnectRequest.n8n_credential_id.is_not(None),
                )
            )
            if r.opened_at is not None
        ]
    done: list[Connected] = []
    for request_id, credential_id, before, opened_at in pending:
        assert credential_id is not None
        try:
            state = n8n_session.oauth2_connection(credential_id)
        except N8nError as e:
            logger.warning("connect %s: cannot read the credential from n8n: %s", request_id, e)
            continue
        fresh = state.connected and state.updated_at != before
        if not fresh and opened_at + LINK_TTL > now:
            continue
        with session_factory.begin() as session:
            request = session.get(ConnectRequest, request_id, with_for_update=True)
            if request is None or request.finished_at is not None:
                continue
            request.finished_at = now
            if not fresh:
                request.outcome = "abandoned"
                reused = session.scalar(
                    select(ConnectedAccount.id).where(
                        ConnectedAccount.n8n_credential_id == credential_id
                    )
                )
                if reused is None:
                    n8n.delete_credential(credential_id)
                continue
            request.outcome = "connected"
            info = _bind(session, request, state.account, key)
            done.append(
                Connected(
                    request.project_id, request.team_id, request.user_id, request.run_id, info
                )
            )
        logger.info("connect %s: %s connected to project", request_id, info.service)
    return done


def list_accounts(*, session: Session, project_id: int) -> list[AccountInfo]:
    """The project's connected accounts, by service."""
    rows = session.execute(
        select(ConnectedAccount, Secret.name)
        .join(Secret, Secret.id == ConnectedAccount.secret_id)
        .where(ConnectedAccount.project_id == project_id)
        .order_by(ConnectedAccount.service)
    ).all()
    return [_info(row, name) for row, name in rows]


def disconnect(
    *,
    session: Session,
    n8n: N8nClient,
    team_id: str,
    user_id: str,
    project_id: int,
    service: str,
) -> AccountInfo:
    """Remove the project's account of `service`: its n8n credential (and token) and its
    secret. Workflows using it fail until it is connected again. Editors only; NotFound."""
    require_role(
        session=session,
        project_id=project_id,
        team_id=team_id,
        user_id=user_id,
        at_least=Role.editor,
    )
    chosen = service_named(service)
    found = session.execute(
        select(ConnectedAccount, Secret)
        .join(Secret, Secret.id == ConnectedAccount.secret_id)
        .where(
            ConnectedAccount.project_id == project_id,
            ConnectedAccount.service == chosen.name,
        )
    ).first()
    if found is None:
        raise NotFound(f"No {chosen.label} account is connected to this project.")
    row, secret = found
    info = _info(row, secret.name)
    n8n.delete_credential(row.n8n_credential_id)
    session.execute(delete(Secret).where(Secret.id == secret.id))
    return info


def mark_needs_reconnect(
    *, session: Session, n8n_credential_ids: Iterable[str], workflow_id: int, now: dt.datetime
) -> list[AccountInfo]:
    """After n8n said an account's token cannot be refreshed: the accounts (of the workflow's
    project) and the workflow are marked "needs reconnect". Returns the accounts marked."""
    workflow = session.get(Workflow, workflow_id)
    if workflow is None:
        return []
    rows = session.execute(
        select(ConnectedAccount, Secret.name)
        .join(Secret, Secret.id == ConnectedAccount.secret_id)
        .where(
            ConnectedAccount.project_id == workflow.project_id,
            ConnectedAccount.n8n_credential_id.in_(list(n8n_credential_ids)),
        )
    ).all()
    for row, _ in rows:
        row.needs_reconnect_at = row.needs_reconnect_at or now
    if rows:
        workflow.status = WorkflowStatus.needs_reconnect
    session.flush()
    return [_info(row, name) for row, name in rows]


def record_use(*, session: Session, n8n_credential_ids: Iterable[str], at: dt.datetime) -> None:
    """A successful execution used these credentials: their accounts' last successful use."""
    ids = list(n8n_credential_ids)
    if ids:
        session.execute(
            update(ConnectedAccount)
            .where(ConnectedAccount.n8n_credential_id.in_(ids))
            .values(last_used_at=at)
        )
