"""A project's digest, composed and sent: what its workflows did over a day or a week (runs and
failures in n8n, repairs, LLM tokens spent, paused workflows). The scheduler's hourly `digest`
job sends each due one (`send_due_digests`): the first one a full period after it was turned on
(`core.usecases.digest.set_digest`), then one each period. n8n is read with no transaction open;
a digest is marked sent only once told (a failure leaves it due for the next tick).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from sqlalchemy import Row, func, select
from sqlalchemy.orm import Session, sessionmaker

from core.kernel.errors import InvalidInput
from core.kernel.models import PipelineRun, Project, Workflow
from core.kernel.vocabulary import RunKind, RunState, WorkflowStatus
from core.n8n import N8nClient, N8nError

PERIODS: Final = {"daily": dt.timedelta(days=1), "weekly": dt.timedelta(days=7)}
# A tick a few minutes early still sends (the job runs hourly; drift never skips a day).
EARLY: Final = dt.timedelta(minutes=10)
MAX_EXECUTIONS: Final = 1000  # read per workflow and period at most
MAX_LISTED: Final = 5


@dataclass(frozen=True)
class WorkflowRuns:
    name: str
    runs: int
    failures: int


@dataclass(frozen=True)
class DigestReport:
    project_id: int
    project: str
    channel: str
    every: str
    since: dt.datetime
    until: dt.datetime
    runs: int
    failures: int
    busiest: list[WorkflowRuns]  # the workflows with failures first, then the most runs
    repairs: int
    repairs_deployed: int
    tokens: int
    active: int
    paused: list[str]
    unread: list[str]  # workflows whose runs n8n would not list (it did not answer)


def _in_period(started: object, since: dt.datetime, until: dt.datetime) -> bool | None:
    """True inside, False after `until`, None before `since` (the list is newest first)."""
    try:
        at = dt.datetime.fromisoformat(str(started).replace("Z", "+00:00"))
    except ValueError:
        return False
    at = at if at.tzinfo else at.replace(tzinfo=dt.UTC)
    if at < since:
        return None
    return at <= until


def _count_runs(
    n8n: N8nClient, n8n_id: str, since: dt.datetime, until: dt.datetime
) -> tuple[int, int]:
    runs = failures = 0
    for count, item in enumerate(n8n.iter_executions(workflow_id=n8n_id, limit=100)):
        inside = _in_period(item.get("startedAt"), since, until)
        if inside is None or count >= MAX_EXECUTIONS:
            break
        if inside:
            runs += 1
            failures += item.get("status") in ("error", "crashed")
    return runs, failures


def digest_report(
    session_factory: sessionmaker[Session],
    *,
    n8n: N8nClient | None,
    project_id: int,
    until: dt.datetime,
) -> DigestReport:
    """The project's digest for the period that ends at `until` (its length: the setting)."""
    with session_factory.begin() as session:
        project = session.get(Project, project_id)
        if project is None or project.digest_every not in PERIODS or not project.digest_channel:
            raise InvalidInput(f"Project {project_id} has no digest turned on.")
        every, channel, name = project.digest_every, project.digest_channel, project.name
        since = until - PERIODS[every]
        workflows = session.execute(
            select(Workflow.name, Workflow.status, Workflow.n8n_workflow_id)
            .where(Workflow.project_id == project_id, Workflow.status != WorkflowStatus.deleted)
            .order_by(Workflow.id)
        ).all()
        repairs_by_state, tokens = _repairs_and_tokens(session, project_id, since, until)
    counted, unread = _runs_in_n8n(n8n, workflows, since, until)
    return DigestReport(
        project_id=project_id,
        project=name,
        channel=channel,
        every=every,
        since=since,
        until=until,
        runs=sum(w.runs for w in counted),
        failures=sum(w.failures for w in counted),
        busiest=counted[:MAX_LISTED],
        repairs=sum(repairs_by_state.values()),
        repairs_deployed=repairs_by_state.get(RunState.succeeded, 0),
        tokens=tokens,
        active=sum(1 for _, status, _ in workflows if status == WorkflowStatus.active),
        paused=[n for n, status, _ in workflows if status == WorkflowStatus.inactive],
        unread=unread,
    )


def _repairs_and_tokens(
    session: Session, project_id: int, since: dt.datetime, until: dt.datetime
) -> tuple[dict[str, int], int]:
    """The project's repair runs per state, and the LLM tokens its runs spent, in the period."""
    in_period = (
        PipelineRun.project_id == project_id,
        PipelineRun.created_at >= since,
        PipelineRun.created_at < until,
    )
    repairs = session.execute(
        select(PipelineRun.state, func.count())
        .where(*in_period, PipelineRun.kind == RunKind.repair)
        .group_by(PipelineRun.state)
    ).all()
    tokens = session.scalar(
        select(
            func.coalesce(func.sum(PipelineRun.prompt_tokens + PipelineRun.completion_tokens), 0)
        ).where(*in_period)
    )
    return {str(state): int(n) for state, n in repairs}, int(tokens or 0)


def _runs_in_n8n(
    n8n: N8nClient | None,
    workflows: Sequence[Row[str, str, str | None]],
    since: dt.datetime,
    until: dt.datetime,
) -> tuple[list[WorkflowRuns], list[str]]:
    """The deployed workflows that ran in the period, failures first then the busiest, and the
    names of those whose runs n8n would not list."""
    counted: list[WorkflowRuns] = []
    unread: list[str] = []
    for wf_name, _status, n8n_id in workflows:
        if n8n_id is None or n8n is None:
            continue
        try:
            runs, failures = _count_runs(n8n, str(n8n_id), since, until)
        except N8nError:
            unread.append(wf_name)
            continue
        if runs:
            counted.append(WorkflowRuns(wf_name, runs, failures))
    counted.sort(key=lambda w: (-w.failures, -w.runs, w.name))
    return counted, unread


def due_digests(session_factory: sessionmaker[Session], *, now: dt.datetime) -> list[int]:
    """The projects whose digest is due at `now`."""
    with session_factory() as session:
        rows = session.execute(
            select(Project.id, Project.digest_every, Project.digest_sent_at).where(
                Project.digest_every.is_not(None), Project.digest_channel.is_not(None)
            )
        ).all()
    return [
        pid
        for pid, every, sent in rows
        if every in PERIODS and (sent is None or now - sent >= PERIODS[every] - EARLY)
    ]


def send_due_digests(
    session_factory: sessionmaker[Session],
    *,
    n8n: N8nClient | None,
    now: dt.datetime,
    tell: Callable[[DigestReport], None],
) -> list[int]:
    """Compose and `tell` every digest due at `now`, each marked sent once told (a failure to
    tell leaves it due: the next tick tries again). The projects told."""
    told = []
    for project_id in due_digests(session_factory, now=now):
        report = digest_report(session_factory, n8n=n8n, project_id=project_id, until=now)
        tell(report)
        with session_factory.begin() as session:
            project = session.get(Project, project_id)
            if project is not None:
                project.digest_sent_at = now
        told.append(project_id)
    return told
