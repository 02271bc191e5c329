"""Once per tick across replicas: the JobRun claim and the per-job advisory lock on Postgres,
exercised from threads with separate engines (as separate processes would be)."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from core.kernel import db
from core.kernel.models import JobRun
from core.scheduler.locks import TickResult, interval_tick, run_once_per_tick


@pytest.fixture
def replica_factories(
    database_url: str, session_factory: sessionmaker[Session]
) -> Iterator[list[sessionmaker[Session]]]:
    engines: list[Engine] = [db.make_engine(database_url) for _ in range(3)]
    yield [db.make_session_factory(e) for e in engines]
    for e in engines:
        e.dispose()


def _race(factories: list[sessionmaker[Session]], job: str, tick: str, hold_s: float) -> list:
    results: list[TickResult] = []
    ran: list[str] = []
    barrier = threading.Barrier(len(factories))

    def replica(i: int, factory: sessionmaker[Session]) -> None:
        def body() -> dict:
            ran.append(f"replica-{i}")
            time.sleep(hold_s)
            return {"by": i}

        barrier.wait()
        results.append(
            run_once_per_tick(
                session_factory=factory, job=job, tick=tick, body=body, runner=f"replica-{i}"
            )
        )

    threads = [threading.Thread(target=replica, args=(i, f)) for i, f in enumerate(factories)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return [results, ran]


def test_one_replica_runs_a_tick(
    replica_factories: list[sessionmaker[Session]], session_factory: sessionmaker[Session]
) -> None:
    results, ran = _race(replica_factories, "demo", "2026-11-02T10:00:00+00:00", 0.3)
    assert len(ran) == 1
    assert sorted(r.ran for r in results) == [False, False, True]
    with session_factory() as session:
        [row] = session.scalars(select(JobRun))
    assert (row.runner, row.ok, row.finished_at is not None) == (ran[0], True, True)


def test_a_replica_does_not_start_the_next_tick_while_another_still_runs_the_job(
    replica_factories: list[sessionmaker[Session]], session_factory: sessionmaker[Session]
) -> None:
    a, b, _ = replica_factories
    started = threading.Event()
    release = threading.Event()

    def slow() -> dict:
        started.set()
        release.wait(10)
        return {}

    t = threading.Thread(
        target=run_once_per_tick,
        kwargs={"session_factory": a, "job": "watch", "tick": "t1", "body": slow},
    )
    t.start()
    assert started.wait(10)
    overlapping = run_once_per_tick(session_factory=b, job="watch", tick="t2", body=lambda: {})
    release.set()
    t.join(10)
    assert (overlapping.ran, overlapping.skipped_because) == (False, "running elsewhere")
    # Once the first run is over, the lock is free again.
    assert run_once_per_tick(session_factory=b, job="watch", tick="t3", body=lambda: {}).ran


def test_a_failing_job_is_recorded_and_does_not_raise(
    session_factory: sessionmaker[Session],
) -> None:
    def boom() -> dict:
        raise RuntimeError("n8n said no; api_key=sk-abcdefghijkl")

    result = run_once_per_tick(session_factory=session_factory, job="j", tick="t", body=boom)
    assert (result.ran, result.ok) == (True, False)
    with session_factory() as session:
        row = session.scalars(select(JobRun)).one()
    assert row.ok is False and "n8n said no" in row.summary["error"]
    assert "sk-abcdefghijkl" not in row.summary["error"]


def test_interval_ticks_are_the_same_in_every_replica() -> None:
    base = dt.datetime(2026, 11, 2, 10, 0, 0, tzinfo=dt.UTC)
    assert interval_tick(base, 60) == interval_tick(base + dt.timedelta(seconds=59.9), 60)
    assert interval_tick(base + dt.timedelta(seconds=60), 60) == "2026-11-02T10:01:00+00:00"
    assert interval_tick(base + dt.timedelta(seconds=3), 5) == "2026-11-02T10:00:00+00:00"
