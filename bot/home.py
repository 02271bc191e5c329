"""App Home: the user's dashboard (`core.usecases.dashboard`), published as a view."""

from __future__ import annotations

from typing import TYPE_CHECKING

from slack_sdk import WebClient

from bot.blocks.home import ProjectChoice, home_view
from bot.blocks.messages import QuotaView, WorkflowRow
from bot.blocks.triggers import home_triggers_blocks
from bot.services import BotServices
from core.deploy.named import workflows_run_by_hand
from core.deploy.workflows import Direction
from core.triggers import triggers_of_project
from core.usecases import Actor
from core.usecases.dashboard import ProjectRole, dashboard

if TYPE_CHECKING:
    from core.kernel.models import Workflow
    from core.workspace.quotas import QuotaStatus

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


def quota_view(status: QuotaStatus) -> QuotaView:
    return QuotaView(
        status.tokens_used, status.token_limit, status.deploys_used, status.deploy_limit
    )


def project_choice(project: ProjectRole) -> ProjectChoice:
    return ProjectChoice(project.id, project.name, project.role.name)


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
    `project_id` + `cursor` show another page. Every id here came from Slack: core checks it."""
    board = dashboard(
        services.session_factory,
        settings=services.settings,
        actor=Actor(team_id, user_id),
        switch_to=switch_to,
        project_id=project_id,
        cursor=cursor,
        direction=direction,
        page_size=PAGE_SIZE,
    )
    # Workflows that start from Slack (what they listen to, Run buttons): core's use cases.
    actor, shown = Actor(team_id, user_id), board.page.project.id
    listings = triggers_of_project(
        session_factory=services.session_factory, actor=actor, project_id=shown
    )
    runnable = workflows_run_by_hand(
        session_factory=services.session_factory, actor=actor, project_id=shown
    )
    view = home_view(
        projects=[project_choice(p) for p in board.projects],
        current=project_choice(board.page.project),
        workflows=[workflow_row(wf) for wf in board.page.workflows],
        next_cursor=board.page.next_cursor,
        prev_cursor=board.page.prev_cursor,
        quota=quota_view(board.quota),
        accounts=board.accounts,
        review=(board.review_before_live, board.reviews_waiting),
    )
    extra = home_triggers_blocks(listings, [(w.workflow_id, w.name) for w in runnable])
    view["blocks"] = (view["blocks"] + extra)[:MAX_HOME_BLOCKS]
    client.views_publish(user_id=user_id, view=view)
