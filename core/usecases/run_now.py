"""Run a workflow now, from a chat button or a command: what it will really do (so the user
can confirm), then the run on a test copy (`core.run_now`). Editors only, checked on every
call (a button's workflow id is untrusted)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from core.deploy.workflows import get_workflow, head_version
from core.graph import Layout, execution_marks, layout_workflow
from core.kernel.errors import NotFound
from core.kernel.settings import Settings
from core.kernel.vocabulary import Role
from core.n8n import N8nClient
from core.run_now import RunNowReport, outside_effects, run_now
from core.usecases.projects import project_named
from core.workspace.projects import Actor


@dataclass(frozen=True)
class RunNowTarget:
    """The workflow a test run is about: its head version's JSON and where its thread is."""

    workflow_id: int | None  # None: a workflow from a file, not stored
    project_id: int
    name: str
    payload: dict[str, Any]
    channel: str | None
    thread_ts: str | None

    @property
    def effects(self) -> list[tuple[str, str]]:
        """(node, what it does outside n8n): the reason to ask before running."""
        return outside_effects(self.payload)


def run_now_target(
    session_factory: sessionmaker[Session], *, actor: Actor, workflow_id: int
) -> RunNowTarget:
    """The workflow to test, if the actor is an editor of its project (NotFound: no version)."""
    with session_factory.begin() as session:
        wf = get_workflow(
            session=session,
            workflow_id=workflow_id,
            team_id=actor.team_id,
            user_id=actor.user_id,
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


def file_target(
    session_factory: sessionmaker[Session],
    *,
    actor: Actor,
    project: str | None,
    workflow: dict[str, Any],
    name: str,
) -> RunNowTarget:
    """A workflow read from a file, to run in the project called `project` (None: the actor's
    active one), if the actor is an editor there."""
    with session_factory.begin() as session:
        found = project_named(session, actor=actor, name=project, at_least=Role.editor)
        return RunNowTarget(None, found.id, name, workflow, None, None)


@dataclass(frozen=True)
class RunNowResult:
    """What the test run did, node by node, and its picture (None: n8n kept no execution)."""

    report: RunNowReport
    picture: Layout | None


def run_workflow_now(
    session_factory: sessionmaker[Session],
    *,
    n8n: N8nClient,
    settings: Settings,
    target: RunNowTarget,
    sample: dict[str, Any] | None = None,
    timeout_s: float = 60.0,
) -> RunNowResult:
    """Run the target now, under the project's policy of today (see `core.run_now.run_now`;
    `sample`: what its trigger emits)."""
    report = run_now(
        session_factory=session_factory,
        n8n=n8n,
        project_id=target.project_id,
        workflow=target.payload,
        sample=sample,
        timeout_s=timeout_s,
        settings=settings,
    )
    picture = None
    if report.execution:
        marks = execution_marks(target.payload, report.execution)
        picture = layout_workflow(target.payload, marks=marks, title=f"{target.name} · test run")
    return RunNowResult(report, picture)
