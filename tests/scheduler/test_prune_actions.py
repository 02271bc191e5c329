"""Old idempotency keys (`processed_actions`) are pruned by a scheduled job, once per tick."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.kernel.idempotency import claim_once
from core.kernel.models import JobRun, ProcessedAction
from core.scheduler import PRUNE_ACTIONS
from core.scheduler.jobs import KEEP_PROCESSED_ACTIONS, prune_processed_actions_job
from core.scheduler.runner import SchedulerContext, default_jobs
from tests.scheduler.conftest import Clock

NOW = dt.datetime(2026, 11, 20, 6, 0, tzinfo=dt.UTC)


def test_old_processed_actions_are_pruned_and_recent_ones_kept(
    scheduler_context: SchedulerContext, session_factory: sessionmaker[Session]
) -> None:
    assert PRUNE_ACTIONS in default_jobs(scheduler_context.settings)
    clock = scheduler_context.clock
    assert isinstance(clock, Clock)
    clock.now = NOW
    with session_factory.begin() as session:
        for key, age in (
            ("slack:Ev-old", KEEP_PROCESSED_ACTIONS + dt.timedelta(hours=1)),
            ("deploy:rollback:api:1:old", KEEP_PROCESSED_ACTIONS * 3),
            ("slack:Ev-recent", KEEP_PROCESSED_ACTIONS - dt.timedelta(hours=1)),
        ):
            session.add(ProcessedAction(key=key, result={}, created_at=NOW - age))

    prune_processed_actions_job()
    # Another replica firing the same tick does nothing more.
    scheduler_context.runner = "test-replica-b"
    prune_processed_actions_job()

    with session_factory() as session:
        keys = set(session.scalars(select(ProcessedAction.key)))
        runs = session.scalars(select(JobRun).where(JobRun.job == PRUNE_ACTIONS)).all()
    assert keys == {"slack:Ev-recent"}
    assert [(r.ok, r.summary["pruned"]) for r in runs] == [(True, 2)]
    # A pruned key can be claimed again; a kept one still cannot.
    assert claim_once(session_factory=session_factory, key="slack:Ev-old")
    assert not claim_once(session_factory=session_factory, key="slack:Ev-recent")


def test_a_tick_with_nothing_to_do_says_nothing_at_info(
    scheduler_context: SchedulerContext, caplog: pytest.LogCaptureFixture
) -> None:
    """Every job fires every few seconds: a tick that changed nothing leaves no INFO line (its
    record is in `clixen jobs`); one that pruned something says so once."""
    clock = scheduler_context.clock
    assert isinstance(clock, Clock)
    clock.now = NOW
    with caplog.at_level(logging.INFO, logger="core"):
        prune_processed_actions_job()
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO] == []
