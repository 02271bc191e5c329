"""Scheduler test helpers: a notifier that records messages (the stand-in for Slack at the edge)
and a scheduler context with an injected clock."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from sqlalchemy.orm import Session, sessionmaker

from core.n8n import N8nClient
from core.scheduler.config import SchedulerSettings
from core.scheduler.runner import SchedulerContext, install_context, job_schedules
from core.settings import Settings
from tests.conftest import N8nStack


@dataclass
class Posted:
    channel: str
    text: str
    thread_ts: str | None


@dataclass
class RecordingNotifier:
    posted: list[Posted] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def post(self, channel: str, text: str, *, thread_ts: str | None = None) -> str | None:
        with self.lock:
            self.posted.append(Posted(channel, text, thread_ts))
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
def n8n_client(n8n: N8nStack) -> Iterator[N8nClient]:
    client = N8nClient(n8n.url, n8n.api_key)
    yield client
    client.close()


@pytest.fixture
def scheduler_context(
    database_url: str,
    session_factory: sessionmaker[Session],
    notifier: RecordingNotifier,
) -> Iterator[SchedulerContext]:
    """The context job functions read, on the test database, with a settable `clock`."""
    settings = Settings(DATABASE_URL=database_url, CLIXEN_OPS_CHANNEL="C0OPS")
    config = SchedulerSettings()
    context = SchedulerContext(
        settings=settings,
        config=config,
        session_factory=session_factory,
        notifier=notifier,
        schedules=job_schedules(config),
        clock=Clock(dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)),
        runner="test-replica-a",
    )
    install_context(context)
    yield context
    install_context(None)
