"""Which workflow or project a user means, as use cases a front end calls without a session:
`workflow_named(actor, ref)` (`/clixen run WORKFLOW`: its #id or name in the user's current
project), `current_project(actor)` (the message shortcut's picker) and
`workflows_run_by_hand(actor, project_id)` (App Home's Run buttons: the active workflows whose
Slack trigger has `manual` among its events). Each opens and closes its own transaction; the
role checks stay where they are (`default_project`, `require_role`, and the use case the front
end calls next)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.deploy.workflows import head_version, resolve_workflow
from core.kernel.errors import InvalidInput
from core.kernel.models import Workflow
from core.kernel.vocabulary import Role
from core.triggers.spec import trigger_of
from core.triggers.subscriptions import ACTIVE_STATUSES
from core.workspace.projects import Actor, default_project, require_role


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


def workflows_run_by_hand(
    *, session_factory: sessionmaker[Session], actor: Actor, project_id: int
) -> list[NamedWorkflow]:
    """The project's active workflows a Run button can start (their head version's Slack
    trigger has `manual` in its events), by name; a viewer of the project may list them."""
    out: list[NamedWorkflow] = []
    with session_factory() as session:
        require_role(
            session=session,
            project_id=project_id,
            team_id=actor.team_id,
            user_id=actor.user_id,
            at_least=Role.viewer,
        )
        for wf in session.scalars(
            select(Workflow)
            .where(Workflow.project_id == project_id, Workflow.status.in_(ACTIVE_STATUSES))
            .order_by(Workflow.name)
        ):
            version = head_version(session=session, workflow_id=wf.id)
            try:
                spec = trigger_of(version.json_payload) if version is not None else None
            except InvalidInput:  # a stored trigger today's checks refuse: not offered
                spec = None
            if spec is not None and "manual" in spec.events:
                out.append(NamedWorkflow(wf.id, wf.name, wf.project_id))
    return out
