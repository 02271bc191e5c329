"""Projects as an actor manages them: find one by name, create one, make one active, add,
re-role or remove a member (owners only: `core.workspace.projects` checks it).

`project_named` is how a use case turns "a project name, or none" into the project, checking the
role its action needs; a front end passes the name it was given and never a role.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

from core.kernel.errors import NotFound
from core.kernel.models import Project
from core.kernel.vocabulary import Role
from core.workspace import projects
from core.workspace.projects import Actor

ProjectRef = int | str | None
"""How a front end names a project: its id (from a chat button or form), its name (from a
command line), or None for the actor's active project."""


def project_named(session: Session, *, actor: Actor, name: ProjectRef, at_least: Role) -> Project:
    """The project `name` refers to (an id, a name, None: the actor's active one) when the
    actor has `at_least` rights there; NotFound for no such name, PermissionDenied below
    `at_least` (also for an id of another workspace)."""
    if isinstance(name, int):
        return projects.project_for(
            session=session, project_id=name, team_id=actor.team_id, user_id=actor.user_id,
            at_least=at_least,
        )  # fmt: skip
    if name is None:
        project = projects.default_project(
            session=session, team_id=actor.team_id, user_id=actor.user_id
        )
    else:
        found = projects.get_project_by_name(session=session, team_id=actor.team_id, name=name)
        if found is None:
            raise NotFound(
                f"There is no project called {name!r}. Create it: clixen project create NAME"
            )
        project = found
    projects.require_role(
        session=session,
        project_id=project.id,
        team_id=actor.team_id,
        user_id=actor.user_id,
        at_least=at_least,
    )
    return project


@dataclass(frozen=True)
class NewProject:
    """A project just created, the actor its owner."""

    id: int
    name: str


def create_project(
    session_factory: sessionmaker[Session], *, actor: Actor, name: str
) -> NewProject:
    """A new project of the actor's workspace, the actor its owner."""
    with session_factory.begin() as session:
        project = projects.create_project(
            session=session, team_id=actor.team_id, name=name, creator_user_id=actor.user_id
        )
        return NewProject(project.id, project.name)


def discard_project(
    session_factory: sessionmaker[Session], *, actor: Actor, project_id: int
) -> None:
    """Delete a throwaway project (`clixen eval`'s) and everything stored in it; owners only.
    What it deployed in n8n is the caller's to remove first."""
    with session_factory.begin() as session:
        found = project_named(session, actor=actor, name=project_id, at_least=Role.owner)
        # One statement: the database's ON DELETE CASCADE removes what the project holds.
        session.execute(delete(Project).where(Project.id == found.id))


@dataclass(frozen=True)
class Membership:
    """A member of a project after a change: their role, None when they were removed."""

    project: str
    user_id: str
    role: Role | None


def set_member(
    session_factory: sessionmaker[Session],
    *,
    actor: Actor,
    project: str,
    user_id: str,
    role: str,
) -> Membership:
    """Add `user_id` to the project called `project` as `role` (viewer, editor or owner), or
    change their role. Owners only; InvalidInput for an unknown role or the last owner."""
    with session_factory.begin() as session:
        found = project_named(session, actor=actor, name=project, at_least=Role.viewer)
        member = projects.add_member(
            session=session,
            project_id=found.id,
            actor_user_id=actor.user_id,
            user_id=user_id,
            role=Role.parse(role),
        )
        return Membership(found.name, member.user_id, Role.parse(member.role))


def remove_member(
    session_factory: sessionmaker[Session], *, actor: Actor, project: str, user_id: str
) -> Membership:
    """Remove `user_id` from the project called `project`: they stay out of it (the shared
    "default" project included) until an owner adds them back. Owners only; the last owner
    cannot be removed."""
    with session_factory.begin() as session:
        found = project_named(session, actor=actor, name=project, at_least=Role.viewer)
        projects.remove_member(
            session=session, project_id=found.id, actor_user_id=actor.user_id, user_id=user_id
        )
        return Membership(found.name, user_id, None)
