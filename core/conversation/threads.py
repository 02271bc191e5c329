"""Which run or workflow a chat thread belongs to, and where a run shows its progress.

A thread is a channel id and a thread timestamp, both plain strings: core knows no chat client.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.kernel.models import PipelineRun, Workflow
from core.kernel.vocabulary import RunState, WorkflowStatus


@dataclass(frozen=True)
class RunThread:
    """Where a run lives in chat: its channel and thread (None for runs not started from chat),
    its progress message (None until one was posted), and the request that message shows."""

    run_id: int
    channel_id: str | None
    thread_ts: str | None
    message_ts: str | None
    request: str


class ThreadTarget(NamedTuple):
    """What a reply in a thread is about: ("answer", run id) or ("edit", workflow id)."""

    kind: Literal["answer", "edit"]
    id: int


def find_run_thread(*, session: Session, run_id: int) -> RunThread | None:
    """The run's thread and progress message; None for an unknown run."""
    run = session.get(PipelineRun, run_id)
    if run is None:
        return None
    return RunThread(
        run_id=run.id,
        channel_id=run.slack_channel_id,
        thread_ts=run.slack_thread_ts,
        message_ts=run.slack_message_ts,
        request=run.request,
    )


def set_run_message(
    *, session: Session, run_id: int, message_ts: str, thread_ts: str | None = None
) -> bool:
    """Remember the run's progress message (and, given `thread_ts`, the thread it was posted in,
    for a run whose thread was opened after it started); False when there is no such run."""
    run = session.get(PipelineRun, run_id)
    if run is None:
        return False
    run.slack_message_ts = message_ts
    if thread_ts is not None:
        run.slack_thread_ts = thread_ts
    return True


def find_thread_target(
    *, session: Session, team_id: str, channel_id: str, thread_ts: str
) -> ThreadTarget | None:
    """What a reply in this thread is about: the latest run of the workspace waiting there on a
    question; else the latest live workflow made there (or, failing that, the latest workflow a
    run of the workspace in this thread worked on); else None."""
    in_thread = (
        PipelineRun.team_id == team_id,
        PipelineRun.slack_channel_id == channel_id,
        PipelineRun.slack_thread_ts == thread_ts,
    )
    run_id = session.scalar(
        select(PipelineRun.id)
        .where(*in_thread, PipelineRun.state == RunState.awaiting_input)
        .order_by(PipelineRun.id.desc())
        .limit(1)
    )
    if run_id is not None:
        return ThreadTarget("answer", int(run_id))
    workflow_id = session.scalar(
        select(Workflow.id)
        .where(
            Workflow.slack_channel_id == channel_id,
            Workflow.slack_thread_ts == thread_ts,
            Workflow.status != WorkflowStatus.deleted,
        )
        .order_by(Workflow.id.desc())
        .limit(1)
    )
    if workflow_id is None:
        workflow_id = session.scalar(
            select(PipelineRun.workflow_id)
            .where(*in_thread, PipelineRun.workflow_id.is_not(None))
            .order_by(PipelineRun.id.desc())
            .limit(1)
        )
    return ThreadTarget("edit", int(workflow_id)) if workflow_id is not None else None
