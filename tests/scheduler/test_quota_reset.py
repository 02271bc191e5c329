"""The daily quota reset at the UTC day boundary, with an injected clock."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.kernel.models import JobRun, QuotaUsage
from core.kernel.settings import get_settings
from core.scheduler.jobs import quota_reset_job
from core.scheduler.runner import QUOTA_RESET, SchedulerContext
from core.workspace import quotas
from tests.scheduler.conftest import Clock

UTC = dt.UTC
TEAM, USER = "T1", "U1"


def _at(day: int, hh: int = 0, mm: int = 0, ss: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, day, hh, mm, ss, tzinfo=UTC)


def _runs(session_factory: sessionmaker[Session]) -> list[tuple[str, bool | None, dict]]:
    with session_factory() as session:
        rows = session.scalars(select(JobRun).where(JobRun.job == QUOTA_RESET).order_by(JobRun.id))
        return [(r.tick, r.ok, r.summary) for r in rows]


def test_the_reset_fires_at_utc_midnight(scheduler_context: SchedulerContext) -> None:
    trigger = scheduler_context.schedules[QUOTA_RESET].trigger
    assert trigger.get_next_fire_time(None, _at(1, 23, 59, 59)) == _at(2)
    assert trigger.get_next_fire_time(None, _at(2, 0, 0, 1)) == _at(3)


def test_usage_starts_from_zero_at_the_day_boundary_and_the_reset_runs_once_per_day(
    scheduler_context: SchedulerContext, session_factory: sessionmaker[Session]
) -> None:
    clock = scheduler_context.clock
    assert isinstance(clock, Clock)
    limit = scheduler_context.settings.daily_deploy_limit
    with session_factory.begin() as session:
        session.add(QuotaUsage(team_id=TEAM, user_id=USER, day=_at(1).date(), deploys_used=limit))
        # Far older than the kept history: the reset prunes it.
        session.add(QuotaUsage(team_id=TEAM, user_id=USER, day=dt.date(2026, 9, 1), tokens_used=5))

    with session_factory.begin() as session, pytest.raises(quotas.QuotaExceeded):
        quotas.reserve_deploy(
            session=session,
            team_id=TEAM,
            user_id=USER,
            project_id=None,
            now=_at(1, 23, 59, 59),
            settings=get_settings(),
        )

    clock.now = _at(2, 0, 0, 0)
    quota_reset_job()
    # A second replica firing the same midnight does not reset again.
    scheduler_context.runner = "test-replica-b"
    quota_reset_job()
    assert _runs(session_factory) == [("2026-11-02", True, {"day": "2026-11-02", "pruned": 1})]

    with session_factory.begin() as session:
        assert (
            quotas.reserve_deploy(
                session=session,
                team_id=TEAM,
                user_id=USER,
                project_id=None,
                now=_at(2, 0, 0, 1),
                settings=get_settings(),
            )
            == 1
        )
        days = sorted(d for (d,) in session.execute(select(QuotaUsage.day)))
    # Yesterday's row is kept (history), the old one is gone, today's is fresh.
    assert days == [_at(1).date(), _at(2).date()]

    clock.now = _at(3, 0, 0, 0)
    quota_reset_job()
    assert [tick for tick, _, _ in _runs(session_factory)] == ["2026-11-02", "2026-11-03"]
