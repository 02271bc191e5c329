"""The opt-in project digest, on the real n8n: owners turn it on, the hourly job sends it once a
period into the chosen channel with the runs, failures, repairs and tokens of that period."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from core.kernel.errors import InvalidInput, PermissionDenied
from core.kernel.models import PipelineRun, Project, Workflow
from core.kernel.settings import Settings
from core.kernel.vocabulary import Role, RunKind, RunState
from core.n8n import N8nClient
from core.scheduler import DIGEST
from core.scheduler.digest import due_digests
from core.scheduler.jobs import digest_job
from core.scheduler.notify import DigestReady
from core.scheduler.runner import SchedulerContext, default_jobs, job_schedules
from core.usecases import Actor
from core.usecases.digest import set_digest
from core.workspace.projects import add_member
from tests.conftest import N8nStack
from tests.scheduler.conftest import TEAM, USER, Clock, RecordingNotifier, closed_port
from tests.scheduler.test_execution_watch import status_poller

CHANNEL = "C0DIGEST"


def _run(session_factory: sessionmaker[Session], project_id: int, **row: Any) -> None:
    with session_factory.begin() as session:
        session.add(
            PipelineRun(project_id=project_id, team_id=TEAM, user_id=USER, request="r", **row)
        )


def test_a_weekly_digest_tells_the_weeks_runs_failures_repairs_and_tokens(
    n8n: N8nStack,
    n8n_client: N8nClient,
    session_factory: sessionmaker[Session],
    scheduler_context: SchedulerContext,
    notifier: RecordingNotifier,
    project_id: int,
    n8n_cleanup: list[str],
) -> None:
    settings = Settings(  # type: ignore[call-arg]
        DATABASE_URL=scheduler_context.settings.database_url,
        N8N_URL=n8n.url,
        N8N_API_KEY=n8n.api_key,
    )
    scheduler_context.settings = settings
    scheduler_context.schedules = job_schedules(settings)
    assert DIGEST in default_jobs(settings)

    owner = Actor(TEAM, USER)
    with session_factory.begin() as session:
        add_member(
            session=session,
            project_id=project_id,
            actor_user_id=USER,
            user_id="U0EDIT",
            role=Role.editor,
        )
    with pytest.raises(PermissionDenied):
        set_digest(
            session_factory, actor=Actor(TEAM, "U0EDIT"), project=project_id, every="weekly",
            channel=CHANNEL,
        )  # fmt: skip
    with pytest.raises(InvalidInput, match="daily, weekly, or off"):
        set_digest(session_factory, actor=owner, project=project_id, every="hourly")
    with pytest.raises(InvalidInput, match="channel"):
        set_digest(session_factory, actor=owner, project=project_id, every="weekly")
    done = set_digest(
        session_factory, actor=owner, project=project_id, every="weekly", channel=CHANNEL
    )
    assert (done.every, done.channel) == ("weekly", CHANNEL)
    now = dt.datetime.now(dt.UTC)
    assert due_digests(session_factory, now=now) == []  # the first one after a full week

    poller = status_poller(n8n_client, session_factory, project_id, n8n_cleanup)
    n8n_client.call_webhook(poller.path, json={"url": f"{n8n_client.base_url}/healthz"})
    ok = n8n_client.wait_for_execution(poller.n8n_id, timeout_s=30)
    assert ok is not None and ok["status"] == "success"
    n8n_client.call_webhook(poller.path, json={"url": f"http://127.0.0.1:{closed_port()}/x"})
    failed = n8n_client.wait_for_execution(poller.n8n_id, after_id=str(ok["id"]), timeout_s=30)
    assert failed is not None and failed["status"] == "error"
    with session_factory.begin() as session:
        paused = Workflow(
            project_id=project_id, name="Quiet one", status="inactive", created_by=USER
        )
        session.add(paused)
    repair = {"kind": RunKind.repair}
    _run(session_factory, project_id, **repair, state=RunState.succeeded, prompt_tokens=250,
         completion_tokens=50)  # fmt: skip
    _run(session_factory, project_id, **repair, state=RunState.failed, prompt_tokens=100)
    # Before the week: not counted.
    _run(session_factory, project_id, kind=RunKind.edit, state=RunState.succeeded,
         prompt_tokens=90, created_at=now - dt.timedelta(days=9))  # fmt: skip

    # A week later (the week it was turned on, moved back), the job tells it once.
    with session_factory.begin() as session:
        project = session.get(Project, project_id)
        assert project is not None
        project.digest_sent_at = now - dt.timedelta(days=7)
    clock = scheduler_context.clock
    assert isinstance(clock, Clock)
    clock.now = dt.datetime.now(dt.UTC)
    digest_job()
    [told] = [p for p in notifier.posted if isinstance(p.event, DigestReady)]
    report = told.event.report
    assert told.channel == CHANNEL
    assert (report.runs, report.failures) == (2, 1)
    assert [(w.name, w.runs, w.failures) for w in report.busiest] == [("Status *poller*", 2, 1)]
    assert (report.repairs, report.repairs_deployed, report.tokens) == (2, 1, 400)
    assert report.paused == ["Quiet one"] and report.active == 1
    assert "Weekly digest of ops" in told.text
    assert "Runs in n8n: *2*, failed: *1*" in told.text

    # Sent: not due again until next week; another tick tells nothing more.
    assert due_digests(session_factory, now=clock.now + dt.timedelta(hours=1)) == []
    clock.now += dt.timedelta(hours=1)
    digest_job()
    assert len([p for p in notifier.posted if isinstance(p.event, DigestReady)]) == 1

    set_digest(session_factory, actor=owner, project=project_id, every="off")
    assert due_digests(session_factory, now=clock.now + dt.timedelta(days=30)) == []
