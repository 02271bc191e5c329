"""The actor's projects and what is in them: the dashboard (App Home), the workflow list, the
quota, switching the active project.

Every project id here may come back from a chat button, so it is checked against the actor's
role (viewers may look).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from core.connect import AccountInfo, list_accounts
from core.deploy.workflows import Direction, list_workflows
from core.kernel.models import Project, VersionReview, Workflow
from core.kernel.settings import Settings
from core.kernel.vocabulary import ReviewState, Role
from core.usecases.projects import project_named
from core.workspace import projects
from core.workspace.projects import Actor
from core.workspace.quotas import QuotaStatus, usage


@dataclass(frozen=True)
class ProjectRole:
    """One of the actor's projects and their role in it."""

    id: int
    name: str
    role: Role


@dataclass(frozen=True)
class WorkflowPage:
    """One page of the project's workflows (newest first) and the cursors around it."""

    project: ProjectRole
    workflows: list[Workflow]
    next_cursor: str | None
    prev_cursor: str | None


@dataclass(frozen=True)
class Dashboard:
    """Everything App Home shows: the actor's projects, the active one's page of workflows,
    their quota use in it, and its connected accounts."""

    projects: list[ProjectRole]
    page: WorkflowPage
    quota: QuotaStatus
    accounts: list[AccountInfo]
    # Review before live: the project's setting and how many versions wait for an owner.
    review_before_live: bool = False
    reviews_waiting: int = 0


def _projects(session: Session, actor: Actor) -> list[ProjectRole]:
    return [
        ProjectRole(p.id, p.name, role)
        for p, role in projects.list_projects(
            session=session, team_id=actor.team_id, user_id=actor.user_id
        )
    ]


def _page(
    session: Session,
    project: Project,
    mine: list[ProjectRole],
    *,
    limit: int,
    cursor: str | None = None,
    direction: Direction | None = None,
    include_deleted: bool = False,
) -> WorkflowPage:
    page = list_workflows(
        session=session,
        project_id=project.id,
        limit=limit,
        cursor=cursor,
        direction=direction,
        include_deleted=include_deleted,
    )
    current = next(p for p in mine if p.id == project.id)
    return WorkflowPage(current, list(page.items), page.next_cursor, page.prev_cursor)


def dashboard(
    session_factory: sessionmaker[Session],
    *,
    settings: Settings,
    actor: Actor,
    switch_to: int | None = None,
    project_id: int | None = None,
    cursor: str | None = None,
    direction: Direction | None = None,
    page_size: int = 10,
) -> Dashboard:
    """The actor's dashboard: `switch_to` first makes that project their active one
    (remembered); `project_id` + `cursor` show another page of one project; else their active
    project's first page. PermissionDenied for a project they are not a member of."""
    with session_factory.begin() as session:
        project: Project
        if switch_to is not None:
            target = projects.project_for(
                session=session, project_id=switch_to, team_id=actor.team_id,
                user_id=actor.user_id, at_least=Role.viewer,
            )  # fmt: skip
            project = projects.switch_project(
                session=session, team_id=actor.team_id, user_id=actor.user_id,
                name=target.name, create_if_missing=False,
            )  # fmt: skip
        else:
            project = projects.project_for(
                session=session, project_id=project_id, team_id=actor.team_id,
                user_id=actor.user_id, at_least=Role.viewer,
            )  # fmt: skip
        mine = _projects(session, actor)
        return Dashboard(
            projects=mine,
            page=_page(session, project, mine, limit=page_size, cursor=cursor, direction=direction),
            quota=usage(
                session=session,
                team_id=actor.team_id,
                user_id=actor.user_id,
                project_id=project.id,
                settings=settings,
            ),
            accounts=list_accounts(session=session, project_id=project.id, viewer=actor.user_id),
            review_before_live=bool(project.review_before_live),
            reviews_waiting=session.scalar(
                select(func.count())
                .select_from(VersionReview)
                .where(
                    VersionReview.project_id == project.id,
                    VersionReview.state == ReviewState.pending,
                )
            )
            or 0,
        )


def workflows(
    session_factory: sessionmaker[Session],
    *,
    actor: Actor,
    project: str | None = None,
    limit: int = 20,
    cursor: str | None = None,
    include_deleted: bool = False,
) -> WorkflowPage:
    """A page of the workflows of the project called `project` (None: the actor's active
    one), newest first (deleted ones too with `include_deleted`); the actor must be a member."""
    with session_factory.begin() as session:
        found = project_named(session, actor=actor, name=project, at_least=Role.viewer)
        return _page(
            session,
            found,
            _projects(session, actor),
            limit=limit,
            cursor=cursor,
            include_deleted=include_deleted,
        )


def quota(
    session_factory: sessionmaker[Session],
    *,
    settings: Settings,
    actor: Actor,
    project: str | None = None,
) -> tuple[str, QuotaStatus]:
    """(project name, the actor's use of today's limits there and when they reset): the
    project called `project`, or the actor's active one."""
    with session_factory.begin() as session:
        found = project_named(session, actor=actor, name=project, at_least=Role.viewer)
        return found.name, usage(
            session=session, team_id=actor.team_id, user_id=actor.user_id,
            project_id=found.id, settings=settings,
        )  # fmt: skip


@dataclass(frozen=True)
class ProjectList:
    """The actor's projects, and which one is active."""

    active: ProjectRole
    projects: list[ProjectRole]


def project_list(
    session_factory: sessionmaker[Session], *, actor: Actor, switch_to: str | None = None
) -> ProjectList:
    """The actor's projects; `switch_to` (a name) first makes that one active, creating it
    (the actor its owner) when no project of the workspace has that name."""
    with session_factory.begin() as session:
        # A first-time user joins their workspace's shared project before anything else.
        active = projects.default_project(
            session=session, team_id=actor.team_id, user_id=actor.user_id
        )
        if switch_to:
            active = projects.switch_project(
                session=session, team_id=actor.team_id, user_id=actor.user_id, name=switch_to
            )
        mine = _projects(session, actor)
        return ProjectList(next(p for p in mine if p.id == active.id), mine)
