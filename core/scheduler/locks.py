"""Run each scheduled job once per tick across every replica sharing one database.

Two guards, both needed:
- a claim: a `JobRun` row, unique on (job, tick); whoever inserts it runs the tick, the others
  skip it — so a tick never runs twice, even if replicas fire it seconds apart;
- on Postgres, a session advisory lock per job held for the whole run (on its own AUTOCOMMIT
  connection, so no transaction stays open while the job calls n8n or Slack), so a slow run
  of tick N never overlaps a run of tick N+1 in another replica (no double repair or message
  from two overlapping watches). The lock dies with its connection, so a killed process never
  leaves it behind. SQLite means one process: the claim alone suffices.
A replica that is not ready (`ready()` false: its database, n8n or n8n-mcp is down) takes
neither, so a ready replica runs the tick. Each tick run is counted and timed by job.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from core.kernel import metrics
from core.kernel.log_context import bind
from core.kernel.logging import redact
from core.kernel.models import JobRun

logger = logging.getLogger(__name__)

# Interval ticks are counted from this instant, so every replica computes the same fire times.
TICK_ANCHOR = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


def runner_id() -> str:
    """This process, as recorded in `JobRun.runner`."""
    return f"{socket.gethostname()}:{os.getpid()}"


def interval_tick(now: dt.datetime, interval_s: int) -> str:
    """The start of the `interval_s` slot containing `now` (UTC ISO), counted from TICK_ANCHOR.

    A job fired late (within its misfire grace, shorter than its interval) still lands in the
    slot of its scheduled fire time."""
    seconds = int((now - TICK_ANCHOR).total_seconds())
    start = TICK_ANCHOR + dt.timedelta(seconds=seconds - seconds % max(1, interval_s))
    return start.isoformat(timespec="seconds")


def day_tick(now: dt.datetime) -> str:
    """The UTC day of `now`: the tick of a daily job."""
    return now.astimezone(dt.UTC).date().isoformat()


def advisory_key(job: str) -> int:
    """A stable signed 64-bit key for `job` (Postgres advisory locks take a bigint)."""
    digest = hashlib.sha256(f"clixen:job:{job}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextmanager
def job_lock(engine: Engine, job: str) -> Iterator[bool]:
    """Yield True if this process may run `job` now: on Postgres while holding its advisory
    lock (released when the block ends, or when the process dies); on other databases always."""
    if engine.dialect.name != "postgresql":
        yield True
        return
    # A session-level lock on its own AUTOCOMMIT connection: no transaction stays open while
    # the job calls n8n or Slack (`core.kernel.transactions`); it goes with the connection.
    key = {"key": advisory_key(job)}
    with engine.connect() as raw:
        conn = raw.execution_options(isolation_level="AUTOCOMMIT")
        acquired = bool(conn.execute(text("SELECT pg_try_advisory_lock(:key)"), key).scalar())
        try:
            yield acquired
        finally:
            if acquired:
                try:
                    conn.execute(text("SELECT pg_advisory_unlock(:key)"), key)
                except DBAPIError as e:
                    if not e.connection_invalidated:
                        raise
                    logger.warning("job lock of %s: its connection was lost", job)


def claim_tick(
    *, session_factory: sessionmaker[Session], job: str, tick: str, runner: str
) -> int | None:
    """Insert the `JobRun` of (job, tick); its id if this process won the tick, else None."""
    values = {"job": job, "tick": tick, "runner": runner, "summary": {}}
    with session_factory.begin() as session:
        dialect = session.get_bind().dialect.name
        stmt: Any
        if dialect == "postgresql":
            stmt = postgresql.insert(JobRun).values(**values).on_conflict_do_nothing()
        elif dialect == "sqlite":
            stmt = sqlite.insert(JobRun).values(**values).on_conflict_do_nothing()
        else:  # pragma: no cover - the product runs on Postgres or SQLite only
            raise RuntimeError(f"unsupported database {dialect}")
        inserted = session.execute(stmt.returning(JobRun.id)).scalar_one_or_none()
    return int(inserted) if inserted is not None else None


@dataclass(frozen=True)
class TickResult:
    """What happened to one firing of a job in this process."""

    job: str
    tick: str
    ran: bool
    ok: bool | None = None
    skipped_because: str | None = None
    summary: dict[str, Any] | None = None


def run_once_per_tick(
    *,
    session_factory: sessionmaker[Session],
    job: str,
    tick: str,
    body: Callable[[], dict[str, Any]],
    runner: str | None = None,
    ready: Callable[[], bool] | None = None,
) -> TickResult:
    """Run `body` if no replica has run (job, tick) and none is running `job` right now.

    `body` returns a JSON-able summary stored on the `JobRun`; an exception is recorded there
    (`ok=False`, redacted message) and logged, never raised: the scheduler must keep ticking.
    With `ready` given and false, this replica neither locks nor claims: another one runs it.
    """
    if ready is not None and not ready():
        logger.debug("job %s tick %s: this replica is not ready; left to others", job, tick)
        metrics.JOB_SKIPPED_NOT_READY.labels(job).inc()
        return TickResult(job, tick, ran=False, skipped_because="not ready")
    with bind(job=job):
        return _run_once(session_factory, job=job, tick=tick, body=body, runner=runner)


def _run_once(
    session_factory: sessionmaker[Session],
    *,
    job: str,
    tick: str,
    body: Callable[[], dict[str, Any]],
    runner: str | None,
) -> TickResult:
    engine = session_factory.kw["bind"]
    runner = runner or runner_id()
    with job_lock(engine, job) as acquired:
        if not acquired:
            logger.debug("job %s tick %s: another replica is running it", job, tick)
            return TickResult(job, tick, ran=False, skipped_because="running elsewhere")
        run_id = claim_tick(session_factory=session_factory, job=job, tick=tick, runner=runner)
        if run_id is None:
            logger.debug("job %s tick %s: already run by another replica", job, tick)
            return TickResult(job, tick, ran=False, skipped_because="already run")
        ok = True
        metrics.JOB_RUNS.labels(job).inc()
        started = time.perf_counter()
        try:
            summary = body()
        except Exception as e:
            logger.exception("job %s tick %s failed", job, tick)
            metrics.JOB_FAILURES.labels(job).inc()
            ok = False
            summary = {"error": redact(f"{type(e).__name__}: {e}")[:2000]}
        metrics.JOB_SECONDS.labels(job).observe(time.perf_counter() - started)
        with session_factory.begin() as session:
            session.execute(
                update(JobRun)
                .where(JobRun.id == run_id)
                .values(finished_at=dt.datetime.now(dt.UTC), ok=ok, summary=summary)
            )
        return TickResult(job, tick, ran=True, ok=ok, summary=summary)


def recent_job_runs(*, session: Session, job: str | None = None, limit: int = 20) -> list[JobRun]:
    """The newest `JobRun` rows (of `job`, if given), newest first."""
    stmt = select(JobRun).order_by(JobRun.started_at.desc(), JobRun.id.desc()).limit(limit)
    if job:
        stmt = stmt.where(JobRun.job == job)
    return list(session.scalars(stmt))
