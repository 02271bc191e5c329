"""What whoever runs Clixen asks of it: core events per day (`clixen stats`) and the scheduler's
recent job runs (`clixen jobs`)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session, sessionmaker

from core.kernel import telemetry
from core.kernel.errors import InvalidInput
from core.kernel.models import JobRun
from core.scheduler.locks import recent_job_runs


def event_counts(
    session_factory: sessionmaker[Session], *, days: int
) -> list[tuple[dt.date, str, int]]:
    """(day, event type, count) for the last `days` days (1–366), oldest first."""
    if not 1 <= days <= 366:
        raise InvalidInput("--days must be between 1 and 366.")
    with session_factory.begin() as session:
        return [
            (day, kind, count)
            for day, kind, count in telemetry.daily_counts(session=session, days=days)
        ]


def job_runs(
    session_factory: sessionmaker[Session], *, job: str | None, limit: int
) -> list[JobRun]:
    """The scheduler's most recent job runs (of `job`, or every job), newest first."""
    with session_factory.begin() as session:
        return list(recent_job_runs(session=session, job=job, limit=limit))
