"""Connect an account (OAuth2 through n8n's own flow) and disconnect one, as an actor.

A connect link is made for the actor alone (show it privately): in the project of the run it
resumes when one is given, else in their active project. Editors only.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from core.connect import AccountInfo, ConnectLink, create_link, disconnect
from core.kernel.settings import Settings
from core.kernel.vocabulary import Role
from core.n8n import N8nClient
from core.pipeline.runs import run_and_project
from core.workspace.projects import Actor, default_project, project_for


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
) -> AccountLink:
    """The actor's link to connect `service`. Raises PermissionDenied below editor,
    InvalidInput for an unknown service, NotFound for a run of another workspace."""
    with session_factory.begin() as session:
        if run_id is not None:
            _, project = run_and_project(
                session=session, run_id=run_id, team_id=actor.team_id, user_id=actor.user_id,
                at_least=Role.editor,
            )  # fmt: skip
        else:
            project = project_for(
                session=session, project_id=None, team_id=actor.team_id, user_id=actor.user_id,
                at_least=Role.editor,
            )  # fmt: skip
        link = create_link(
            session=session,
            team_id=actor.team_id,
            user_id=actor.user_id,
            project_id=project.id,
            service=service,
            public_url=settings.public_url,
            run_id=run_id,
        )
        return AccountLink(link, project.name, run_id)


def disconnect_account(
    session_factory: sessionmaker[Session], *, n8n: N8nClient, actor: Actor, service: str
) -> AccountInfo:
    """Remove the actor's active project's account of `service` (its n8n credential and token
    too); workflows using it fail until it is connected again. Editors only; NotFound."""
    with session_factory.begin() as session:
        project = default_project(session=session, team_id=actor.team_id, user_id=actor.user_id)
        return disconnect(
            session=session,
            n8n=n8n,
            team_id=actor.team_id,
            user_id=actor.user_id,
            project_id=project.id,
            service=service,
        )
