"""Which workflow or project a user means, as use cases a front end calls without a session:
`workflow_named(actor, ref)` (`/clixen run WORKFLOW`: its #id or name in the user's current
project) and `current_project(actor)` (the message shortcut's picker, App Home). Each opens and
closes its own transaction; the role checks stay where they are (`default_project`, and the use
case the front end calls next)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from core.deploy.workflows import resolve_workflow
from core.workspace.projects import Actor, default_project


@dataclass(frozen=True)
class NamedWorkflow:
    workflow_id: int
    name: str
    project_id: int


@dataclass(frozen=True)
class ProjectRef:
    project_id: int
    name: str


def current_project(*, session_factory: sessionmaker[Session], actor: Actor) -> ProjectRef:
    """The project the user's requests go to (their last active one; see `default_project`)."""
    with session_factory.begin() as session:
        project = default_project(session=session, team_id=actor.team_id, user_id=actor.user_id)
        return ProjectRef(project.id, project.name)


def workflow_named(
    *, session_factory: sessionmaker[Session], actor: Actor, ref: str
) -> NamedWorkflow:
    """The workflow `ref` (an id, "#12", or a name) names in the user's current project. Raises
    NotFound, or InvalidInput when the name is ambiguous or empty."""
    with session_factory.begin() as session:
        project = default_project(session=session, team_id=actor.team_id, user_id=actor.user_id)
        wf = resolve_workflow(session=session, project_id=project.id, ref=ref)
        return NamedWorkflow(wf.id, wf.name, wf.project_id)
