"""Projects, their members and roles, users and each user's last active project.

`require_role` is the one server-side authorization check every front end (Slack, CLI, HTTP API)
goes through before reading or changing a project's data.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.kernel import telemetry
from core.kernel.db import upsert_insert
from core.kernel.errors import InvalidInput, NotFound, PermissionDenied
from core.kernel.models import Project, ProjectMember, ProjectRemoval, User, Workflow
from core.kernel.vocabulary import Role

DEFAULT_PROJECT_NAME = "default"
MAX_PROJECT_NAME = 80


@dataclass(frozen=True)
class Actor:
    """Who is acting: a user of one workspace (`team_id` "local" and `cli:<name>` for the CLI)."""

    team_id: str
    user_id: str


def validate_project_name(name: str) -> str:
    """The project name with surrounding spaces removed; raises InvalidInput if unusable."""
    cleaned = name.strip()
    if not cleaned:
        raise InvalidInput("A project name cannot be empty.")
    if len(cleaned) > MAX_PROJECT_NAME:
        raise InvalidInput(f"A project name can be at most {MAX_PROJECT_NAME} characters.")
    if any(unicodedata.category(ch).startswith("C") for ch in cleaned):
        raise InvalidInput("A project name cannot contain control or invisible characters.")
    return cleaned


def ensure_user(*, session: Session, team_id: str, user_id: str) -> tuple[User, bool]:
    """The user row for (team, user) and whether this call created it (then a `signup` is
    recorded). Safe when several requests of a new user arrive at once: exactly one creates the
    row and records the signup, the others read it."""
    user = session.scalar(select(User).where(User.team_id == team_id, User.user_id == user_id))
    if user is not None:
        return user, False
    created = _insert_if_absent(
        session,
        User,
        {"team_id": team_id, "user_id": user_id},
        conflict=[User.team_id, User.user_id],
    )
    user = session.scalar(select(User).where(User.team_id == team_id, User.user_id == user_id))
    assert user is not None  # inserted here, or committed by the request that won the race
    if created:
        telemetry.record(session=session, type="signup", team_id=team_id, user_id=user_id)
    return user, created


def _insert_if_absent(
    session: Session, model: Any, values: dict[str, Any], *, conflict: list[Any]
) -> bool:
    """INSERT … ON CONFLICT DO NOTHING on the unique key `conflict`; True if this inserted it.

    A concurrent insert of the same key makes Postgres wait for the other transaction and then
    skip the row, so callers re-read instead of failing on the unique constraint.
    """
    insert = upsert_insert(session)
    now = dt.datetime.now(dt.UTC)
    stmt = (
        insert(model)
        .values(created_at=now, **values)
        .on_conflict_do_nothing(index_elements=conflict)
        .returning(model.id)
    )
    return session.execute(stmt).scalar_one_or_none() is not None


def get_project(*, session: Session, project_id: int) -> Project:
    project = session.get(Project, project_id)
    if project is None:
        raise NotFound("That project does not exist.")
    return project


def get_project_by_name(*, session: Session, team_id: str, name: str) -> Project | None:
    """The project called `name` in this workspace, or None."""
    return session.scalar(
        select(Project).where(Project.team_id == team_id, Project.name == name.strip())
    )


def create_project(*, session: Session, team_id: str, name: str, creator_user_id: str) -> Project:
    """A new project in the workspace; its creator becomes its owner."""
    name = validate_project_name(name)
    if get_project_by_name(session=session, team_id=team_id, name=name) is not None:
        raise InvalidInput(f"A project called {name!r} already exists in this workspace.")
    ensure_user(session=session, team_id=team_id, user_id=creator_user_id)
    try:
        with session.begin_nested():
            project = Project(team_id=team_id, name=name, created_by=creator_user_id)
            project.members.append(ProjectMember(user_id=creator_user_id, role=Role.owner.name))
            session.add(project)
    except IntegrityError as e:
        raise InvalidInput(f"A project called {name!r} already exists in this workspace.") from e
    return project


def _membership(*, session: Session, project_id: int, user_id: str) -> ProjectMember | None:
    return session.scalar(
        select(ProjectMember).where(
            ProjectMember.project_id == project_id, ProjectMember.user_id == user_id
        )
    )


def require_role(
    *, session: Session, project_id: int, team_id: str, user_id: str, at_least: Role
) -> ProjectMember:
    """The user's membership of the project if their role is at least `at_least`.

    Raises PermissionDenied otherwise, also when the project belongs to another workspace
    (workspaces never see each other's data, so that case reads the same as a missing project).
    """
    project = session.get(Project, project_id)
    if project is None or project.team_id != team_id:
        raise PermissionDenied("You don't have access to that project.")
    member = _membership(session=session, project_id=project_id, user_id=user_id)
    if member is None:
        # Not named: an id from a forged button must not tell a non-member the project's name.
        raise PermissionDenied(
            "You are not a member of that project. Ask one of its owners to add you."
        )
    if Role.parse(member.role) < at_least:
        raise PermissionDenied(
            f"You are a {member.role} of project {project.name!r}; this needs "
            f"{at_least.name} rights or more."
        )
    return member


def project_for(
    *, session: Session, project_id: int | None, team_id: str, user_id: str, at_least: Role
) -> Project:
    """Project `project_id` (None: the user's active one) when the user has `at_least` rights
    there; PermissionDenied otherwise. The check every front end makes on an id it was sent."""
    if project_id is None:
        project = default_project(session=session, team_id=team_id, user_id=user_id)
    else:
        require_role(
            session=session, project_id=project_id, team_id=team_id, user_id=user_id,
            at_least=at_least,
        )  # fmt: skip
        return get_project(session=session, project_id=project_id)
    require_role(
        session=session, project_id=project.id, team_id=team_id, user_id=user_id, at_least=at_least
    )
    return project


def list_projects(*, session: Session, team_id: str, user_id: str) -> list[tuple[Project, Role]]:
    """The user's projects in this workspace with their role in each, by name."""
    rows = session.execute(
        select(Project, ProjectMember.role)
        .join(ProjectMember, ProjectMember.project_id == Project.id)
        .where(Project.team_id == team_id, ProjectMember.user_id == user_id)
        .order_by(Project.name)
    ).all()
    return [(project, Role.parse(role)) for project, role in rows]


def _remember(*, session: Session, team_id: str, user_id: str, project: Project) -> None:
    user, _ = ensure_user(session=session, team_id=team_id, user_id=user_id)
    user.last_project_id = project.id
    session.flush()


def default_project(*, session: Session, team_id: str, user_id: str) -> Project:
    """The project a user's requests go to when they named none.

    In order: their last active project if they are still a member of it; else their first
    project; else the workspace's shared project called "default". Whoever creates "default" (the
    first user of the workspace to need it) is its owner; every later user who lands in it joins
    as an editor (they can create and deploy, only owners manage members and policy), except a
    user an owner removed from it: they get PermissionDenied saying so until an owner adds them
    back or they have a project of their own. Safe when
    several new users of one workspace send their first request at the same moment: exactly one
    creates the project, the others join it.
    """
    user, _ = ensure_user(session=session, team_id=team_id, user_id=user_id)
    if user.last_project_id is not None:
        project = session.get(Project, user.last_project_id)
        if (
            project is not None
            and project.team_id == team_id
            and _membership(session=session, project_id=project.id, user_id=user_id) is not None
        ):
            return project
    first = session.scalar(
        select(Project)
        .join(ProjectMember, ProjectMember.project_id == Project.id)
        .where(Project.team_id == team_id, ProjectMember.user_id == user_id)
        .order_by(Project.created_at, Project.id)
        .limit(1)
    )
    if first is None:
        first = _join_workspace_default(session=session, team_id=team_id, user_id=user_id)
    _remember(session=session, team_id=team_id, user_id=user_id, project=first)
    return first


def _join_workspace_default(*, session: Session, team_id: str, user_id: str) -> Project:
    """The workspace's "default" project with `user_id` a member: owner if this call created the
    project, editor if it already existed (an existing membership is left as it is). A user an
    owner removed from it is not let back in (PermissionDenied)."""
    created = _insert_if_absent(
        session,
        Project,
        {"team_id": team_id, "name": DEFAULT_PROJECT_NAME, "created_by": user_id},
        conflict=[Project.team_id, Project.name],
    )
    project = get_project_by_name(session=session, team_id=team_id, name=DEFAULT_PROJECT_NAME)
    assert project is not None  # inserted here, or committed by the request that won the race
    if not created and _was_removed(session=session, project_id=project.id, user_id=user_id):
        raise PermissionDenied(
            f"You were removed from project {project.name!r}; ask one of its owners to add you "
            "back, or create a project of your own."
        )
    role = Role.owner if created else Role.editor
    _insert_if_absent(
        session,
        ProjectMember,
        {"project_id": project.id, "user_id": user_id, "role": role.name},
        conflict=[ProjectMember.project_id, ProjectMember.user_id],
    )
    return project


def _was_removed(*, session: Session, project_id: int, user_id: str) -> bool:
    return (
        session.scalar(
            select(ProjectRemoval.id).where(
                ProjectRemoval.project_id == project_id, ProjectRemoval.user_id == user_id
            )
        )
        is not None
    )


def switch_project(
    *, session: Session, team_id: str, user_id: str, name: str, create_if_missing: bool = True
) -> Project:
    """Make the project called `name` the user's active project (creating it if missing and
    allowed). Raises PermissionDenied when it exists and the user is not a member."""
    name = validate_project_name(name)
    project = get_project_by_name(session=session, team_id=team_id, name=name)
    if project is None:
        if not create_if_missing:
            raise NotFound(f"There is no project called {name!r} in this workspace.")
        try:
            project = create_project(
                session=session, team_id=team_id, name=name, creator_user_id=user_id
            )
        except InvalidInput:
            # Someone created it a moment ago: it is theirs, so the member check below applies.
            project = get_project_by_name(session=session, team_id=team_id, name=name)
            if project is None:
                raise
    require_role(
        session=session,
        project_id=project.id,
        team_id=team_id,
        user_id=user_id,
        at_least=Role.viewer,
    )
    _remember(session=session, team_id=team_id, user_id=user_id, project=project)
    return project


def add_member(
    *, session: Session, project_id: int, actor_user_id: str, user_id: str, role: Role
) -> ProjectMember:
    """Add `user_id` to the project with `role`, or change their role. Only owners may do this."""
    project = get_project(session=session, project_id=project_id)
    require_role(
        session=session,
        project_id=project_id,
        team_id=project.team_id,
        user_id=actor_user_id,
        at_least=Role.owner,
    )
    ensure_user(session=session, team_id=project.team_id, user_id=user_id)
    member = _membership(session=session, project_id=project_id, user_id=user_id)
    if member is None:
        member = ProjectMember(project_id=project_id, user_id=user_id, role=role.name)
        session.add(member)
        # An owner adding them back lifts an earlier removal.
        session.execute(
            delete(ProjectRemoval).where(
                ProjectRemoval.project_id == project_id, ProjectRemoval.user_id == user_id
            )
        )
    else:
        if member.role == Role.owner.name and role != Role.owner:
            owners = session.scalars(
                select(ProjectMember).where(
                    ProjectMember.project_id == project_id,
                    ProjectMember.role == Role.owner.name,
                )
            ).all()
            if len(owners) <= 1:
                raise InvalidInput("A project needs at least one owner.")
        member.role = role.name
    session.flush()
    return member


def remove_member(*, session: Session, project_id: int, actor_user_id: str, user_id: str) -> None:
    """Remove `user_id` from the project. Owners only; the last owner cannot be removed.

    The removal is recorded, so they stay out of it (also of the workspace's shared "default"
    project, which otherwise takes in every user) until an owner adds them back."""
    project = get_project(session=session, project_id=project_id)
    require_role(
        session=session,
        project_id=project_id,
        team_id=project.team_id,
        user_id=actor_user_id,
        at_least=Role.owner,
    )
    member = _membership(session=session, project_id=project_id, user_id=user_id)
    if member is None:
        raise NotFound(f"{user_id} is not a member of project {project.name!r}.")
    if member.role == Role.owner.name:
        owners = session.scalars(
            select(ProjectMember).where(
                ProjectMember.project_id == project_id, ProjectMember.role == Role.owner.name
            )
        ).all()
        if len(owners) <= 1:
            raise InvalidInput("A project needs at least one owner.")
    session.delete(member)
    insert = upsert_insert(session)
    now = dt.datetime.now(dt.UTC)
    session.execute(
        insert(ProjectRemoval)
        .values(project_id=project_id, user_id=user_id, removed_by=actor_user_id, removed_at=now)
        .on_conflict_do_update(
            index_elements=[ProjectRemoval.project_id, ProjectRemoval.user_id],
            set_={"removed_by": actor_user_id, "removed_at": now},
        )
    )
    session.flush()


def project_n8n_workflows(*, session: Session, project_id: int) -> dict[str, str]:
    """The project's live workflows that exist in n8n: n8n workflow id → name."""
    rows = session.execute(
        select(Workflow.n8n_workflow_id, Workflow.name)
        .where(
            Workflow.project_id == project_id,
            Workflow.n8n_workflow_id.is_not(None),
            Workflow.status != "deleted",
        )
        .order_by(Workflow.name)
    )
    return {n8n_id: name for n8n_id, name in rows if n8n_id}
