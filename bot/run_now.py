"""A test run from Slack: say what will really happen, run the workflow now on a test copy
(`core.run_now`), answer with what each node did and post the picture in the workflow's thread.
Editors only (checked here, on every click)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient

from bot.pictures import execution_layout, post_picture
from bot.services import BotServices
from core.deploy.workflows import get_workflow, head_version
from core.kernel.errors import NotFound
from core.kernel.vocabulary import Role
from core.run_now import RunNowReport, outside_effects, run_now


@dataclass(frozen=True)
class RunNowTarget:
    """The workflow a test run is about: its head version's JSON and where its thread is."""

    workflow_id: int
    project_id: int
    name: str
    payload: dict[str, Any]
    channel: str | None
    thread_ts: str | None

    @property
    def effects(self) -> list[tuple[str, str]]:
        return outside_effects(self.payload)


def target_for_test(
    services: BotServices, *, team_id: str, user_id: str, workflow_id: int
) -> RunNowTarget:
    """The workflow to test, if the user is an editor of its project (NotFound: no version)."""
    with services.session_factory.begin() as session:
        wf = get_workflow(
            session=session,
            workflow_id=workflow_id,
            team_id=team_id,
            user_id=user_id,
            at_least=Role.editor,
        )
        head = head_version(session=session, workflow_id=workflow_id)
        if head is None:
            raise NotFound(f"{wf.name} has no version to test yet.")
        return RunNowTarget(
            workflow_id=workflow_id,
            project_id=wf.project_id,
            name=wf.name,
            payload=dict(head.json_payload),
            channel=wf.slack_channel_id,
            thread_ts=wf.slack_thread_ts,
        )


def run_test(
    services: BotServices, target: RunNowTarget, *, client: WebClient | None = None
) -> RunNowReport:
    """Run the target now (its head version, under the project's policy of today: see
    `core.run_now.run_now`); with a `client`, post the picture of what each node did in its
    thread."""
    report = run_now(
        session_factory=services.session_factory,
        n8n=services.n8n,
        project_id=target.project_id,
        workflow=target.payload,
        settings=services.settings,
    )
    if client is not None and target.channel and target.thread_ts and report.execution:
        post_picture(
            client,
            channel=target.channel,
            thread_ts=target.thread_ts,
            layout=execution_layout(
                target.payload, report.execution, title=f"{target.name} · test run"
            ),
            filename=f"workflow-{target.workflow_id}-test-{report.execution_id}.png",
            alt_text=f"{target.name}: test run {report.status}",
        )
    return report
