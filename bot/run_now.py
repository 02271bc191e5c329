"""A test run from Slack: the target (`core.usecases.run_now`: editors only, checked on every
click), the run on a test copy, and the picture of what each node did in the workflow's
thread."""

from __future__ import annotations

from slack_sdk import WebClient

from bot.pictures import post_picture
from bot.services import BotServices
from core.run_now import RunNowReport
from core.usecases import Actor
from core.usecases.run_now import RunNowTarget, run_now_target, run_workflow_now


def target_for_test(
    services: BotServices, *, team_id: str, user_id: str, workflow_id: int
) -> RunNowTarget:
    """The workflow to test, if the user is an editor of its project (NotFound: no version)."""
    return run_now_target(
        services.session_factory, actor=Actor(team_id, user_id), workflow_id=workflow_id
    )


def run_test(
    services: BotServices, target: RunNowTarget, *, client: WebClient | None = None
) -> RunNowReport:
    """Run the target now; with a `client`, post the picture of what each node did in its
    thread."""
    done = run_workflow_now(
        services.session_factory,
        n8n=services.require_n8n(),
        settings=services.settings,
        target=target,
    )
    report = done.report
    if client is not None and target.channel and target.thread_ts and done.picture:
        post_picture(
            client,
            channel=target.channel,
            thread_ts=target.thread_ts,
            layout=done.picture,
            filename=f"workflow-{target.workflow_id}-test-{report.execution_id}.png",
            alt_text=f"{target.name}: test run {report.status}",
        )
    return report
