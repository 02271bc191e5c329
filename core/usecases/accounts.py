"""Connect an account (OAuth2 through n8n's own flow), list and disconnect them, as an actor;
and the OAuth apps an operator registers once per provider.

A connect link is made for the actor alone (show it privately): in the project of the run it
resumes when one is given, else in the named project or their active one. Editors connect and
disconnect; members list.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from core.connect import (
    AccountInfo,
    ConnectLink,
    OAuthAppInfo,
    create_link,
    disconnect,
    forget_credential,
    list_accounts,
    list_oauth_apps,
    set_oauth_app,
)
from core.connect.leftovers import Leftover, find_leftovers, remove_leftovers
from core.credentials.secrets import secret_key
from core.kernel.errors import SettingsError
from core.kernel.settings import Settings
from core.kernel.vocabulary import Role
from core.n8n import N8nClient
from core.pipeline.runs import run_and_project
from core.usecases.projects import project_named
from core.workspace.projects import Actor


@dataclass(frozen=True)
class AccountLink:
    """A single-use link to connect an account to `project`, resuming `run_id` once done."""

    link: ConnectLink
    project: str
    run_id: int | None


def connect_account(
    session_factory: sessionmaker[Session],
    *,
    settings: Settings,
    actor: Actor,
    service: str,
    run_id: int | None = None,
    project: str | None = None,
) -> AccountLink:
    """The actor's link to connect `service`. Raises PermissionDenied below editor,
    InvalidInput for an unknown service, NotFound for a run of another workspace."""
    with session_factory.begin() as session:
        if run_id is not None:
            _, found = run_and_project(
                session=session, run_id=run_id, team_id=actor.team_id, user_id=actor.user_id,
                at_least=Role.editor,
            )  # fmt: skip
        else:
            found = project_named(session, actor=actor, name=project, at_least=Role.editor)
        link = create_link(
            session=session,
            team_id=actor.team_id,
            user_id=actor.user_id,
            project_id=found.id,
            service=service,
            public_url=settings.public_url,
            run_id=run_id,
        )
        return AccountLink(link, found.name, run_id)


def disconnect_account(
    session_factory: sessionmaker[Session],
    *,
    n8n: N8nClient | None,
    actor: Actor,
    service: str,
    project: str | None = None,
) -> tuple[str, AccountInfo]:
    """Remove the account of `service` from the project called `project` (None: the actor's
    active one), its n8n credential and token too; workflows using it fail until it is
    connected again. Editors only; NotFound. Returns (project name, the account removed)."""
    with session_factory.begin() as session:
        found = project_named(session, actor=actor, name=project, at_least=Role.viewer)
        if n8n is None:
            raise SettingsError(["N8N_URL and N8N_API_KEY are needed to disconnect an account."])
        removed = disconnect(
            session=session,
            team_id=actor.team_id,
            user_id=actor.user_id,
            project_id=found.id,
            service=service,
        )
        project_name = found.name
    forget_credential(n8n, removed.credential_id)  # after the commit
    return project_name, removed.account


def accounts(
    session_factory: sessionmaker[Session], *, actor: Actor, project: str | None = None
) -> tuple[str, list[AccountInfo]]:
    """(project name, its connected accounts by service): the project called `project` (None:
    the actor's active one), for its members (whose account each is: for the one who connected
    it and the project's owners only)."""
    with session_factory.begin() as session:
        found = project_named(session, actor=actor, name=project, at_least=Role.viewer)
        return found.name, list_accounts(session=session, project_id=found.id, viewer=actor.user_id)


def connect_leftovers(
    session_factory: sessionmaker[Session],
    *,
    n8n: N8nClient,
    actor: Actor,
    project: str | None = None,
    remove: bool = False,
    now: dt.datetime | None = None,
) -> tuple[str, list[Leftover]]:
    """(project name, the n8n credentials half-finished connects left in the project called
    `project` (None: the actor's active one): `core.connect.leftovers`); `remove` deletes them
    and returns those deleted. Editors only (they hold the OAuth app's client secret)."""
    with session_factory.begin() as session:
        found = project_named(session, actor=actor, name=project, at_least=Role.editor)
        project_id, name = found.id, found.name
    leftovers = find_leftovers(
        session_factory=session_factory, n8n=n8n, project_id=project_id, now=now
    )
    return name, remove_leftovers(n8n, leftovers) if remove else leftovers


def register_oauth_app(
    session_factory: sessionmaker[Session],
    *,
    settings: Settings,
    actor: Actor,
    provider: str,
    client_id: str,
    client_secret: str,
    auth_url: str | None = None,
    token_url: str | None = None,
    scope: str | None = None,
    allowed_hosts: Sequence[str] = (),
) -> OAuthAppInfo:
    """Register (or replace) the OAuth app of `provider` for the whole instance (an operator's
    act, from the command line): its secret encrypted with CLIXEN_SECRET_KEY; the generic
    provider names the API hosts its tokens may be sent to (`allowed_hosts`, required)."""
    key = secret_key(settings)
    with session_factory.begin() as session:
        return set_oauth_app(
            session=session,
            provider=provider,
            client_id=client_id,
            client_secret=client_secret,
            key=key,
            actor=actor.user_id,
            auth_url=auth_url,
            token_url=token_url,
            scope=scope,
            allowed_hosts=allowed_hosts,
        )


def oauth_apps(session_factory: sessionmaker[Session]) -> list[OAuthAppInfo]:
    """Every registered OAuth app (never its secret), by provider."""
    with session_factory.begin() as session:
        return list_oauth_apps(session=session)
