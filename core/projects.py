"""Projects, their members and roles, users and each user's last active project.

`require_role` is the one server-side authorization check every front end (Slack, CLI, HTTP API)
goes through before reading or changing a project's data.
"""

from __future__ import annotations

import enum
import unicodedata
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import telemetry
from core.errors import InvalidInput, NotFound, PermissionDenied
from core.models import Project, ProjectMember, User

DEFAULT_PROJECT_NAME = "default"
MAX_PROJECT_NAME = 80


@dataclass(frozen=True)
class Actor:
    """Who is acting: a user of one workspace (`team_id` "local" and `cli:<name>` for the CLI)."""

    team_id: str
    user_id: str


class Role(enum.IntEnum):
    """What a member may do in a project; a higher role includes every lower one."""

    viewer = 1
    editor = 2
    owner = 3

    @classmethod
    def parse(cls, value: str) -> Role:
        try:
            return cls[value.strip().lower()]
        except KeyError:
            raise InvalidInput(
                f"Unknown role {value!r}: use one of owner, editor, viewer."
            ) from None


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
    """The user row for (team, user), created on first interaction (records a `signup`)."""
    user = session.scalar(select(User).where(User.team_id == team_id, User.user_id == user_id))
    if user is not None:
        return user, False
    try:
        with session.begin_nested():
            user = User(team_id=team_id, user_id=user_id)
            session.add(user)
    except IntegrityError:
        # Another request created the same user at the same moment.
        existing = session.scalar(
            select(User).where(User.team_id == team_id, User.user_id == user_id)
        )
        assert existing is not None
        return existing, False
    telemetry.record(session=session, type="signup", team_id=team_id, user_id=user_id)
    return user, True


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
        raise PermissionDenied(
            f"You are not a member of project {project.name!r}. Ask one of its owners to add you."
        )
    if Role.parse(member.role) < at_least:
        raise PermissionDenied(
            f"You are a {member.role} of project {project.name!r}; this needs "
            f"{at_least.name} rights or more."
        )
    return member


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
    """The user's last active project if they are still a member, else their first project,
    else a new project called "default" that they own."""
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
        first = get_project_by_name(session=session, team_id=team_id, name=DEFAULT_PROJECT_NAME)
        if first is not None:
            # Someone else's "default" exists in this workspace: give the user their own.
            first = create_project(
                session=session,
                team_id=team_id,
                name=f"{DEFAULT_PROJECT_NAME}-{user_id}"[:MAX_PROJECT_NAME],
                creator_user_id=user_id,
            )
        else:
            first = create_project(
                session=session, team_id=team_id, name=DEFAULT_PROJECT_NAME, creator_user_id=user_id
            )
    _remember(session=session, team_id=team_id, user_id=user_id, project=first)
    return first


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
        project = create_project(
            session=session, team_id=team_id, name=name, creator_user_id=user_id
        )
    else:
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
    """Remove `user_id` from the project. Owners only; the last owner cannot be removed."""
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
    session.flush()
