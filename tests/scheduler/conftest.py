"""Scheduler test helpers: a notifier that records messages (the stand-in for Slack at the edge)
and a scheduler context with an injected clock."""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.blocks.notices import notice_text
from core.kernel.models import Workflow, WorkflowVersion
from core.kernel.settings import Settings
from core.n8n import N8nClient
from core.pipeline import ProgressEvent, RunOutcome
from core.scheduler.notify import ExecutionFailed, Picture, SchedulerEvent
from core.scheduler.runner import SchedulerContext, install_context, job_schedules
from tests.builders import new_project
from tests.conftest import REPO, N8nStack


@dataclass
class Posted:
    """One event told, with the words Slack would show (`bot.blocks.notices`)."""

    channel: str
    text: str
    thread_ts: str | None
    event: SchedulerEvent
    picture: Picture | None = None


@dataclass
class RecordingNotifier:
    """The scheduler's notifier, recording each event instead of posting it."""

    posted: list[Posted] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def notify(self, event: SchedulerEvent) -> None:
        picture = event.picture if isinstance(event, ExecutionFailed) else None
        where = event.where
        told = Posted(
            where.channel if where else "",
            notice_text(event),
            where.thread_ts if where else None,
            event,
            picture,
        )
        with self.lock:
            self.posted.append(told)

    def run_progress(self, event: ProgressEvent) -> None:
        return None

    def run_finished(self, outcome: RunOutcome) -> None:
        return None


@dataclass
class Clock:
    now: dt.datetime

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def notifier() -> RecordingNotifier:
    return RecordingNotifier()


@pytest.fixture
def scheduler_context(
    database_url: str,
    session_factory: sessionmaker[Session],
    notifier: RecordingNotifier,
) -> Iterator[SchedulerContext]:
    """The context job functions read, on the test database, with a settable `clock`."""
    settings = Settings(DATABASE_URL=database_url, CLIXEN_OPS_CHANNEL="C0OPS")
    context = SchedulerContext(
        settings=settings,
        session_factory=session_factory,
        notifier=notifier,
        schedules=job_schedules(settings),
        clock=Clock(dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)),
        runner="test-replica-a",
    )
    install_context(context)
    yield context
    install_context(None)


TEAM, USER = "T0REPL", "U0OWNER"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def record_running_workflow(
    session_factory: sessionmaker[Session],
    *,
    project_id: int,
    n8n_id: str,
    workflow: dict[str, Any],
    name: str,
    channel: str | None = None,
    thread: str | None = None,
    deployed_at: dt.datetime | None = None,
) -> int:
    """The product's record of a workflow already active in n8n: v1 deployed (now, unless
    `deployed_at` says when), reporting in a Slack thread if one is given. Its id."""
    with session_factory.begin() as session:
        row = Workflow(
            project_id=project_id,
            name=name,
            n8n_workflow_id=n8n_id,
            status="active",
            head_version=1,
            created_by=USER,
            slack_channel_id=channel,
            slack_thread_ts=thread,
        )
        session.add(row)
        session.flush()
        session.add(
            WorkflowVersion(
                workflow_id=row.id,
                version=1,
                json_payload=workflow,
                checksum="0" * 64,
                source="generate",
                status="deployed",
                created_by=USER,
                deployed_at=deployed_at or dt.datetime.now(dt.UTC),
            )
        )
        return row.id


@pytest.fixture
def project_id(session_factory: sessionmaker[Session]) -> int:
    return new_project(session_factory, team_id=TEAM, user_id=USER, name="ops")


@pytest.fixture
def n8n_cleanup(n8n_client: N8nClient) -> Iterator[list[str]]:
    ids: list[str] = []
    yield ids
    for workflow_id in ids:
        n8n_client.delete_workflow(workflow_id)


# --- scheduler replicas as real processes (`clixen scheduler run`) ----------------------------

CLIXEN = str(Path(sys.executable).parent / "clixen")


def scheduler_env(n8n: N8nStack, database_url: str, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CLIXEN_", "SLACK_", "OPENAI_", "N8N_", "DATABASE_URL"))
    }
    env.update(
        N8N_URL=n8n.url,
        N8N_API_KEY=n8n.api_key,
        DATABASE_URL=database_url,
        **{"CLIXEN_LOG_LEVEL": "INFO", **extra},
    )
    return env


def start_replica(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [CLIXEN, "scheduler", "run", *args],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def finish_replica(proc: subprocess.Popen[str], timeout: float = 60) -> tuple[str, str]:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err[-3000:]
    return out, err


def thread_notices(stdout: str, channel: str, thread: str) -> list[str]:
    return [
        line
        for line in stdout.splitlines()
        if line.startswith(f"[notify {channel} (thread {thread})]")
    ]
