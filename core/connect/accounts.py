"""Connected accounts: noticing that n8n stored a token, binding the account to the project,
listing, disconnecting, and the "needs reconnect" state.

An account is a project secret (so the pipeline binds it to nodes like any other) whose n8n
credential holds the token; the secret's own value is only a marker, never a token. n8n's
callback does not call Clixen, so `finish_connections` asks n8n, through the server-side
session, whether each opened link's credential now holds a new token.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Final

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from core.catalog.credential_domains import OWNER_NAMED, restriction
from core.connect.apps import app_hosts, generic_hosts_needed
from core.connect.connectable import secret_name_of, service_named
from core.connect.links import LINK_TTL
from core.credentials.accounts import (
    bind_account,
    credential_in_use,
    mark_synced,
    named_accounts,
    remove_account,
    unsynced_accounts,
)
from core.kernel.errors import InvalidInput, NotFound, PermissionDenied
from core.kernel.models import ConnectedAccount, ConnectRequest, ProjectMember, Workflow
from core.kernel.vocabulary import Role, WorkflowStatus
from core.n8n import N8nClient, N8nError, N8nNotFound
from core.n8n.session import N8nUserSession
from core.workspace.projects import require_role

logger = logging.getLogger(__name__)

# n8n's message when it cannot refresh an OAuth2 token (n8n-core, `buildOAuth2ReconnectError`).
RECONNECT_MESSAGE: Final = "needs to be reconnected"


@dataclass(frozen=True)
class AccountInfo:
    """What may be shown about a connected account (never a token). `account` (the email or
    name of the account) is None when it is not known, or — `account_hidden` — not for this
    viewer: only the user who connected it and the project's owners see it."""

    service: str
    label: str
    secret_name: str
    account: str | None
    connected_by: str
    connected_at: dt.datetime
    last_used_at: dt.datetime | None
    needs_reconnect: bool
    account_hidden: bool = False


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


@dataclass(frozen=True)
class _Pending:
    id: int
    credential_id: str
    before: str | None
    opened_at: dt.datetime


def finish_connections(
    *,
    session_factory: sessionmaker[Session],
    n8n: N8nClient,
    n8n_session: N8nUserSession,
    key: str,
    now: dt.datetime | None = None,
) -> list[Connected]:
    """The opened links whose own n8n credential now holds a new token, bound to their project
    as their user's account (`core.credentials.accounts.bind_account`). Each link has its own
    credential, so a consent finishes only its own link's request; the user must still be an
    editor of the project when it is bound (else the link ends `refused` and its credential is
    deleted). Links opened longer than `LINK_TTL` ago without a token are given up. n8n is
    called with no transaction open: credentials no longer used (given up, refused, or
    superseded by a reconnect) are deleted from n8n after the binding committed."""
    now = now or dt.datetime.now(dt.UTC)
    done: list[Connected] = []
    for link in _opened_links(session_factory):
        try:
            state = n8n_session.oauth2_connection(link.credential_id)
        except N8nError as e:
            logger.warning("connect %s: cannot read the credential from n8n: %s", link.id, e)
            continue
        fresh = state.connected and state.updated_at != link.before
        if not fresh and link.opened_at + LINK_TTL > now:
            continue
        unused: list[str] = []
        with session_factory.begin() as session:
            request = session.get(ConnectRequest, link.id, with_for_update=True)
            if request is None or request.finished_at is not None:
                continue
            request.finished_at = now
            outcome, connected = _settle(session, request, fresh, state.account, key, now)
            request.outcome = outcome
            for credential_id in connected.unused if connected else [link.credential_id]:
                if credential_id and not credential_in_use(session, credential_id):
                    unused.append(credential_id)
        for credential_id in unused:
            try:
                n8n.delete_credential(credential_id)
            except N8nNotFound:
                pass
            except N8nError as e:  # the sweep deletes it later (core.connect.leftovers)
                logger.warning("connect %s: credential not deleted yet: %s", link.id, e)
        if connected is not None and connected.renamed:
            # A second user's account (GMAIL_2): deploys name the reference after the secret,
            # and n8n would rename a reference whose name differs from the credential's.
            n8n.rename_credential(link.credential_id, name=connected.renamed)
        if connected is not None:
            done.append(connected.connected)
            logger.info("connect %s: %s connected to project", link.id, connected.service)
        else:
            logger.info("connect %s: %s", link.id, outcome)
    return done


def _opened_links(session_factory: sessionmaker[Session]) -> list[_Pending]:
    """The links opened and not finished yet, each with its own n8n credential."""
    with session_factory() as session:
        return [
            _Pending(r.id, r.n8n_credential_id, r.n8n_updated_at, _aware(r.opened_at))
            for r in session.scalars(
                select(ConnectRequest).where(
                    ConnectRequest.opened_at.is_not(None),
                    ConnectRequest.finished_at.is_(None),
                    ConnectRequest.outcome.is_(None),
                    ConnectRequest.n8n_credential_id.is_not(None),
                )
            )
            if r.opened_at is not None and r.n8n_credential_id is not None
        ]


@dataclass(frozen=True)
class _Settled:
    connected: Connected
    service: str
    unused: list[str]
    renamed: str | None = None  # the n8n name the credential must take


def _settle(
    session: Session,
    request: ConnectRequest,
    fresh: bool,
    account: str | None,
    key: str,
    now: dt.datetime,
) -> tuple[str, _Settled | None]:
    """The outcome of a finished link, and what it bound (None: nothing)."""
    if not fresh:
        return "abandoned", None
    try:
        require_role(
            session=session,
            project_id=request.project_id,
            team_id=request.team_id,
            user_id=request.user_id,
            at_least=Role.editor,
        )
    except PermissionDenied:
        return "refused", None  # no longer an editor: the token is not bound
    service = service_named(request.service)
    assert request.n8n_credential_id is not None
    bound = bind_account(
        session,
        project_id=request.project_id,
        service=service.name,
        credential_type=service.credential_type,
        secret_base=secret_name_of(service.name),
        user_id=request.user_id,
        n8n_credential_id=request.n8n_credential_id,
        account=account,
        allowed_hosts=app_hosts(session=session, service=service),
        key=key,
        now=now,
    )
    info = _info(bound.row, bound.secret_name)
    connected = Connected(
        request.project_id, request.team_id, request.user_id, request.run_id, info
    )
    renamed = None
    if bound.secret_name != secret_name_of(service.name):
        renamed = f"clixen-p{request.project_id}-{bound.secret_name}"
    return "connected", _Settled(connected, service.name, [bound.superseded or ""], renamed)


def list_accounts(*, session: Session, project_id: int, viewer: str) -> list[AccountInfo]:
    """The project's connected accounts, by service, as `viewer` (a member's user id) may see
    them: whose account each is (an email) only for the user who connected it and the project's
    owners; everyone sees the service and who connected it."""
    role = session.scalar(
        select(ProjectMember.role).where(
            ProjectMember.project_id == project_id, ProjectMember.user_id == viewer
        )
    )
    owner = role is not None and Role.parse(role) >= Role.owner
    shown = [_info(row, name) for row, name in named_accounts(session, project_id=project_id)]
    return [
        a
        if owner or a.connected_by == viewer or a.account is None
        else replace(a, account=None, account_hidden=True)
        for a in shown
    ]


@dataclass(frozen=True)
class Disconnected:
    """A removed account, and its n8n credential to delete once the transaction committed
    (`forget_credential`)."""

    account: AccountInfo
    credential_id: str


def disconnect(
    *,
    session: Session,
    team_id: str,
    user_id: str,
    project_id: int,
    service: str,
) -> Disconnected:
    """Remove an account of `service` from the project: the user's own, else the project's only
    one (InvalidInput naming who connected them when there are several). Workflows using it fail
    until it is connected again. Editors only; NotFound. No n8n call here: delete the returned
    credential (`forget_credential`) after the commit."""
    require_role(
        session=session,
        project_id=project_id,
        team_id=team_id,
        user_id=user_id,
        at_least=Role.editor,
    )
    chosen = service_named(service)
    found = named_accounts(session, project_id=project_id, service=chosen.name)
    if not found:
        raise NotFound(f"No {chosen.label} account is connected to this project.")
    mine = [(r, n) for r, n in found if r.connected_by == user_id]
    if not mine and len(found) > 1:
        raise InvalidInput(
            f"This project has {len(found)} {chosen.label} accounts, none of them yours "
            f"(connected by {', '.join(sorted({r.connected_by for r, _ in found}))}): the user "
            "who connected one disconnects it."
        )
    row, name = (mine or found)[0]
    info = _info(row, name)
    return Disconnected(info, remove_account(session, row))


def forget_credential(n8n: N8nClient, credential_id: str) -> None:
    """Delete a removed account's n8n credential (and its token); gone already: nothing to do."""
    with contextlib.suppress(N8nNotFound):
        n8n.delete_credential(credential_id)


def mark_needs_reconnect(
    *, session: Session, n8n_credential_ids: Iterable[str], workflow_id: int, now: dt.datetime
) -> list[AccountInfo]:
    """After n8n said an account's token cannot be refreshed: the accounts (of the workflow's
    project) and the workflow are marked "needs reconnect". Returns the accounts marked."""
    workflow = session.get(Workflow, workflow_id)
    if workflow is None:
        return []
    rows = named_accounts(
        session, project_id=workflow.project_id, n8n_credential_ids=n8n_credential_ids
    )
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


def resync_accounts(
    *, session_factory: sessionmaker[Session], n8n: N8nClient
) -> tuple[int, list[str]]:
    """Every connected account whose n8n credential predates its domain restriction (the
    upgrade marked them) gets it written now, its token kept (a partial update: n8n keeps the
    token it holds). Returns how many were written and, for those refused (a generic app that
    names no host), why."""
    now = dt.datetime.now(dt.UTC)
    refused: list[str] = []
    todo: list[tuple[int, str, str, str, dict[str, str]]] = []
    with session_factory() as session:
        for unsynced in unsynced_accounts(session):
            account = unsynced.account
            service = service_named(account.service)
            hosts = app_hosts(session=session, service=service)
            if service.credential_type in OWNER_NAMED and not hosts:
                refused.append(f"project {account.project_id}: {generic_hosts_needed()}")
                continue
            todo.append(
                (
                    unsynced.secret_id,
                    account.n8n_credential_id,
                    f"clixen-p{account.project_id}-{unsynced.secret_name}",
                    service.credential_type,
                    restriction(service.credential_type, {}, hosts),
                )
            )
    written = 0
    for secret_id, credential_id, name, ctype, fields in todo:
        try:
            n8n.update_credential(credential_id, name=name, type=ctype, data=fields, partial=True)
        except N8nError as e:
            refused.append(f"{name}: n8n refused the restriction ({e})")
            continue
        with session_factory.begin() as session:
            mark_synced(session, secret_id=secret_id, at=now)
        written += 1
    return written, refused
