"""App Home: gather the dashboard's data through core and publish it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from slack_sdk import WebClient

from bot.blocks.home import ProjectChoice, home_view
from bot.blocks.messages import QuotaView, WorkflowRow
from bot.blocks.triggers import home_triggers_blocks
from bot.services import BotServices
from core.connect import list_accounts
from core.deploy.named import workflows_run_by_hand
from core.deploy.workflows import Direction, list_workflows
from core.kernel.vocabulary import Role
from core.triggers import triggers_of_project
from core.workspace.projects import (
    Actor,
    default_project,
    list_projects,
    project_for,
    switch_project,
)
from core.workspace.quotas import usage

if TYPE_CHECKING:
    from core.kernel.models import Project, Workflow

PAGE_SIZE = 10
MAX_HOME_BLOCKS = 100  # Slack's limit for a view


def workflow_row(wf: Workflow) -> WorkflowRow:
    last_at = f"{wf.last_execution_at:%Y-%m-%d %H:%M} UTC" if wf.last_execution_at else None
    return WorkflowRow(
        id=wf.id,
        name=wf.name,
        status=wf.status,
        head_version=wf.head_version,
        last_execution_status=wf.last_execution_status,
        last_execution_at=last_at,
    )


def quota_view(
    services: BotServices, *, session: object, team_id: str, user_id: str, project_id: int
) -> QuotaView:
    status = usage(
        session=session,  # type: ignore[arg-type]
        team_id=team_id,
        user_id=user_id,
        project_id=project_id,
        settings=services.settings,
    )
    return QuotaView(
        status.tokens_used, status.token_limit, status.deploys_used, status.deploy_limit
    )


def publish_home(
    services: BotServices,
    client: WebClient,
    *,
    team_id: str,
    user_id: str,
    switch_to: int | None = None,
    project_id: int | None = None,
    cursor: str | None = None,
    direction: Direction | None = None,
) -> None:
    """Publish the user's dashboard: `switch_to` makes a project their active one (remembered);
    `project_id` + `cursor` show another page. Every id here came from Slack, so is checked."""
    with services.session_factory.begin() as session:
        project: Project
        if switch_to is not None:
            target = project_for(
                session=session,
                project_id=switch_to,
                team_id=team_id,
                user_id=user_id,
                at_least=Role.viewer,
            )
            project = switch_project(
                session=session,
                team_id=team_id,
                user_id=user_id,
                name=target.name,
                create_if_missing=False,
            )
        elif project_id is not None:
            project = project_for(
                session=session,
                project_id=project_id,
                team_id=team_id,
                user_id=user_id,
                at_least=Role.viewer,
            )
        else:
            project = default_project(session=session, team_id=team_id, user_id=user_id)
        choices = [
            ProjectChoice(p.id, p.name, role.name)
            for p, role in list_projects(session=session, team_id=team_id, user_id=user_id)
        ]
        current = next(c for c in choices if c.id == project.id)
        page = list_workflows(
            session=session,
            project_id=project.id,
            limit=PAGE_SIZE,
            cursor=cursor,
            direction=direction,
        )
        rows = [workflow_row(wf) for wf in page.items]
        accounts = list_accounts(session=session, project_id=project.id)
        quota = quota_view(
            services, session=session, team_id=team_id, user_id=user_id, project_id=project.id
        )
    # Workflows that start from Slack (what they listen to, Run buttons): core's use cases.
    actor = Actor(team_id, user_id)
    listings = triggers_of_project(
        session_factory=services.session_factory, actor=actor, project_id=current.id
    )
    runnable = workflows_run_by_hand(
        session_factory=services.session_factory, actor=actor, project_id=current.id
    )
    view = home_view(
        projects=choices,
        current=current,
        workflows=rows,
        next_cursor=page.next_cursor,
        prev_cursor=page.prev_cursor,
        quota=quota,
        accounts=accounts,
    )
    extra = home_triggers_blocks(listings, [(w.workflow_id, w.name) for w in runnable])
    view["blocks"] = (view["blocks"] + extra)[:MAX_HOME_BLOCKS]
    client.views_publish(user_id=user_id, view=view)
