"""The APScheduler setup shared by `clixen serve` and `clixen scheduler run`.

Choices:
- one persistent `SQLAlchemyJobStore` in the product database (`apscheduler_jobs`), shared by
  every replica, so a schedule survives restarts and a run missed while every process was down
  still happens when one comes back (within the job's misfire grace);
- `coalesce=True`: after downtime a job runs once, not once per missed fire time;
- `max_instances=1` per process, plus the advisory lock + `JobRun` claim across processes
  (core.scheduler.locks), so every job runs once per tick however many replicas run;
- misfire grace per job: shorter than the job's interval for interval jobs (a late run still
  belongs to its tick), 6 h for the midnight quota reset (it is idempotent and safe late);
- interval triggers are anchored at 2000-01-01 UTC, so every replica computes the same fire
  times and the same tick names.

Job functions are module-level callables in core.scheduler.jobs (the store pickles references);
they find this process's dependencies in the `SchedulerContext` installed by `start_scheduler`.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from apscheduler.events import EVENT_SCHEDULER_SHUTDOWN
from apscheduler.executors.base import run_job
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.job import Job
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.orm import Session, sessionmaker

from core.kernel import db
from core.kernel.settings import Settings
from core.observability.readiness import ReadinessProbe
from core.scheduler import (
    ALL_JOBS,
    CONNECT_WATCH,
    DIGEST,
    EXECUTION_WATCH,
    PRUNE_ACTIONS,
    QUOTA_RESET,
    RECONCILE,
    RUN_RECOVERY,
    SMOKE_TEST,
    TEST_COPY_SWEEP,
)
from core.scheduler.handover import HandoverListener
from core.scheduler.locks import TICK_ANCHOR, day_tick, interval_tick, runner_id
from core.scheduler.notify import Notifier

logger = logging.getLogger(__name__)

JOB_TABLE = "apscheduler_jobs"
QUOTA_RESET_GRACE_S = 6 * 3600
# Old idempotency keys go every 6 hours (a cheap DELETE; they are kept for days, see jobs.py).
PRUNE_ACTIONS_S = 6 * 3600
# Test copies a killed process left in n8n are deleted within about this long.
TEST_COPY_SWEEP_S = 10 * 60
DIGEST_S = 60 * 60  # digests are daily or weekly: an hourly look finds each due one


@dataclass(frozen=True)
class JobSchedule:
    """How one job is triggered in this process, and how its firings are named (ticks)."""

    name: str
    func_ref: str
    trigger: BaseTrigger
    misfire_grace_s: int
    interval_s: int | None  # None: a daily job at UTC midnight (tick = the UTC day)

    def tick_for(self, fire_time: dt.datetime) -> str:
        if self.interval_s is None:
            return day_tick(fire_time)
        return interval_tick(fire_time, self.interval_s)


@dataclass
class SchedulerContext:
    """This process's dependencies, read by the job functions."""

    settings: Settings
    session_factory: sessionmaker[Session]
    notifier: Notifier
    schedules: dict[str, JobSchedule]
    services: Any = None  # the pipeline's services (repair, resume); built from settings if None
    # The n8n user session of the connect job, kept for the process: n8n allows 5 sign-ins
    # per minute and user.
    n8n_session: Any = None
    clock: Callable[[], dt.datetime] = field(default=lambda: dt.datetime.now(dt.UTC))
    runner: str = field(default_factory=runner_id)
    # This replica's readiness (core.observability.readiness): not ready, it takes no job.
    readiness: ReadinessProbe | None = None


_context: SchedulerContext | None = None
_fire_time = threading.local()


def install_context(context: SchedulerContext | None) -> None:
    """Make `context` the one the job functions of this process use (None uninstalls)."""
    global _context
    _context = context


def current_context() -> SchedulerContext:
    if _context is None:
        raise RuntimeError("no scheduler context: call start_scheduler() first")
    return _context


def current_fire_time() -> dt.datetime | None:
    """The scheduled fire time of the job running in this thread (None outside a job)."""
    value: dt.datetime | None = getattr(_fire_time, "value", None)
    return value


class FireTimeExecutor(ThreadPoolExecutor):  # type: ignore[misc]
    """A thread pool that tells each job its scheduled fire time (APScheduler 3 doesn't), so the
    tick is named after the fire time, not after when the thread happened to start."""

    def _do_submit_job(self, job: Job, run_times: list[dt.datetime]) -> None:
        def run_with_fire_time(
            job: Job, alias: str, run_times: list[dt.datetime], logger_name: str
        ) -> list[Any]:
            events: list[Any] = []
            for run_time in run_times:
                _fire_time.value = run_time
                try:
                    events.extend(run_job(job, alias, [run_time], logger_name))
                finally:
                    _fire_time.value = None
            return events

        def callback(f: Any) -> None:
            exc = f.exception()
            if exc:
                self._run_job_error(job.id, exc, exc.__traceback__)
            else:
                self._run_job_success(job.id, f.result())

        future = self._pool.submit(
            run_with_fire_time, job, job._jobstore_alias, run_times, self._logger.name
        )
        future.add_done_callback(callback)


def job_schedules(
    settings: Settings, *, interval_override_s: int | None = None
) -> dict[str, JobSchedule]:
    """Every job's trigger; `interval_override_s` runs every job at that interval (testing)."""

    def interval(name: str, func: str, seconds: int) -> JobSchedule:
        seconds = interval_override_s or seconds
        return JobSchedule(
            name=name,
            func_ref=f"core.scheduler.jobs:{func}",
            trigger=IntervalTrigger(seconds=seconds, start_date=TICK_ANCHOR, timezone=dt.UTC),
            misfire_grace_s=max(1, seconds // 2),
            interval_s=seconds,
        )

    schedules = {
        SMOKE_TEST: interval(SMOKE_TEST, "smoke_test_job", settings.smoke_interval_s),
        EXECUTION_WATCH: interval(
            EXECUTION_WATCH, "execution_watch_job", settings.watch_interval_s
        ),
        RUN_RECOVERY: interval(RUN_RECOVERY, "run_recovery_job", settings.recovery_interval_s),
        PRUNE_ACTIONS: interval(PRUNE_ACTIONS, "prune_processed_actions_job", PRUNE_ACTIONS_S),
        TEST_COPY_SWEEP: interval(TEST_COPY_SWEEP, "sweep_test_copies_job", TEST_COPY_SWEEP_S),
        CONNECT_WATCH: interval(CONNECT_WATCH, "connect_watch_job", settings.connect_interval_s),
        RECONCILE: interval(RECONCILE, "reconcile_job", settings.reconcile_interval_s),
        DIGEST: interval(DIGEST, "digest_job", DIGEST_S),
    }
    if interval_override_s:
        schedules[QUOTA_RESET] = interval(QUOTA_RESET, "quota_reset_job", interval_override_s)
    else:
        schedules[QUOTA_RESET] = JobSchedule(
            name=QUOTA_RESET,
            func_ref="core.scheduler.jobs:quota_reset_job",
            trigger=CronTrigger(hour=0, minute=0, second=0, timezone=dt.UTC),
            misfire_grace_s=QUOTA_RESET_GRACE_S,
            interval_s=None,
        )
    return schedules


def default_jobs(settings: Settings) -> list[str]:
    """The jobs a process runs when not told otherwise: the n8n ones only if n8n is configured."""
    jobs = [QUOTA_RESET, RUN_RECOVERY, PRUNE_ACTIONS, DIGEST]
    if settings.n8n_url and settings.n8n_api_key:
        jobs[0:0] = [SMOKE_TEST, EXECUTION_WATCH, TEST_COPY_SWEEP, CONNECT_WATCH, RECONCILE]
    return jobs


def start_scheduler(
    *,
    settings: Settings,
    notifier: Notifier,
    services: Any = None,
    session_factory: sessionmaker[Session] | None = None,
    jobs: Iterable[str] | None = None,
    interval_override_s: int | None = None,
    recover_at_start: bool = True,
    readiness: ReadinessProbe | None = None,
) -> BackgroundScheduler:
    """Start the background scheduler of this process and return it (call `.shutdown()`).

    `jobs` defaults to `default_jobs(settings)`. Every replica should run the same job set:
    the job store is shared, and a replica removes the known jobs it does not run.
    `recover_at_start` runs run recovery once right away (runs interrupted by the previous
    process's death are picked up on start, not a full interval later). With `readiness`, a
    tick fired while this replica is not ready is left to the other replicas; with run recovery on
    Postgres, runs another replica hands over when it stops are recovered at once
    (`core.scheduler.handover`).
    """
    if session_factory is None:
        session_factory = db.make_session_factory(db.make_engine(settings.database_url))
    enabled = _enabled_jobs(settings, jobs)
    schedules = job_schedules(settings, interval_override_s=interval_override_s)
    install_context(
        SchedulerContext(
            settings=settings,
            session_factory=session_factory,
            notifier=notifier,
            schedules={name: schedules[name] for name in enabled},
            services=services,
            readiness=readiness,
        )
    )
    scheduler = _started_paused(session_factory)
    _sync_jobs(
        scheduler, [schedules[name] for name in enabled], remove=set(ALL_JOBS) - set(enabled)
    )
    if RUN_RECOVERY in enabled:
        _recover_runs(scheduler, session_factory, at_start=recover_at_start)
    scheduler.resume()
    logger.info("scheduler started (%s) with jobs: %s", runner_id(), ", ".join(enabled))
    return scheduler


def _enabled_jobs(settings: Settings, jobs: Iterable[str] | None) -> list[str]:
    """`jobs`, or the default set; ValueError naming any job this scheduler does not know."""
    enabled = list(jobs) if jobs is not None else default_jobs(settings)
    unknown = set(enabled) - set(ALL_JOBS)
    if unknown:
        raise ValueError(f"unknown scheduler jobs: {', '.join(sorted(unknown))}")
    return enabled


def _started_paused(session_factory: sessionmaker[Session]) -> BackgroundScheduler:
    """A started but paused scheduler: jobs shared by every replica in the database, one-off
    local jobs in memory."""
    scheduler = BackgroundScheduler(
        jobstores={
            "default": SQLAlchemyJobStore(engine=session_factory.kw["bind"], tablename=JOB_TABLE),
            "local": MemoryJobStore(),
        },
        executors={"default": FireTimeExecutor(max_workers=len(ALL_JOBS) + 1)},
        job_defaults={"coalesce": True, "max_instances": 1},
        timezone=dt.UTC,
    )
    scheduler.start(paused=True)
    return scheduler


def _recover_runs(
    scheduler: BackgroundScheduler, session_factory: sessionmaker[Session], *, at_start: bool
) -> None:
    """Recover interrupted runs once now (`at_start`), and at once whenever another replica
    hands its runs over, until the scheduler shuts down."""
    if at_start:
        recover_now(scheduler, "run_recovery_at_start_job")
    # Runs a stopping replica released are taken over at once, not at the next tick.
    listener = HandoverListener(
        session_factory, lambda: recover_now(scheduler, "run_recovery_on_handover_job")
    ).start()
    scheduler.add_listener(lambda _: listener.stop(), EVENT_SCHEDULER_SHUTDOWN)


# Handovers recovered at once in this process: a recovery still driving the runs of one
# replica that stopped does not hold back those of the next one (runs are claimed one by one).
HANDOVER_RECOVERIES = 4


def recover_now(scheduler: BackgroundScheduler, job: str) -> None:
    """Run the run-recovery job function `job` (of core.scheduler.jobs) once, now, here."""
    scheduler.add_job(
        f"core.scheduler.jobs:{job}",
        id=job,
        jobstore="local",
        next_run_time=dt.datetime.now(dt.UTC),
        misfire_grace_time=None,
        replace_existing=True,
        max_instances=HANDOVER_RECOVERIES,
    )


def _sync_jobs(
    scheduler: BackgroundScheduler, schedules: list[JobSchedule], *, remove: set[str]
) -> None:
    """Make the shared store hold exactly `schedules`' jobs (plus other replicas' unknown ones).

    A stored job whose trigger is unchanged is kept as it is, so a fire time missed while every
    process was down is still due (and runs once, coalesced) instead of being rescheduled away.
    """
    for name in remove:
        if scheduler.get_job(name, jobstore="default") is not None:
            scheduler.remove_job(name, jobstore="default")
    for schedule in schedules:
        existing = scheduler.get_job(schedule.name, jobstore="default")
        if (
            existing is not None
            and repr(existing.trigger) == repr(schedule.trigger)
            and existing.func_ref == schedule.func_ref
            and existing.misfire_grace_time == schedule.misfire_grace_s
        ):
            continue
        scheduler.add_job(
            schedule.func_ref,
            trigger=schedule.trigger,
            id=schedule.name,
            name=schedule.name,
            jobstore="default",
            replace_existing=True,
            misfire_grace_time=schedule.misfire_grace_s,
        )
