"""One request, one run: a run is driven only by whoever holds its claim (owner + lease), so run
recovery never drives a second copy of a run that waits for a free worker (real Postgres, real
n8n, the scripted LLM server)."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from core.kernel.models import PipelineRun, QuotaUsage, Workflow, WorkflowVersion
from core.n8n import N8nClient
from core.pipeline import PipelineServices, execute_run, resume_incomplete_runs, start_run
from tests.builders import delete_deployed, new_project, pipeline_services
from tests.doubles.llm_server import ScriptedLLM
from tests.waiting import wait_until
from tests.workflows import answer, schedule_workflow

TEAM, USER = "T1", "U1"


@pytest.fixture
def services(
    session_factory: sessionmaker[Session], n8n_client: N8nClient, llm: ScriptedLLM
) -> Iterator[PipelineServices]:
    services = pipeline_services(session_factory, n8n_client, llm.url)
    # A short lease renewed often, so a test can outlive several leases in a few seconds.
    services.heartbeat_s = 0.2
    services.lease_s = 1.0
    yield services
    delete_deployed(session_factory, n8n_client)


@pytest.fixture
def project_id(session_factory: sessionmaker[Session]) -> int:
    return new_project(session_factory, team_id=TEAM, user_id=USER)


def other_process(services: PipelineServices, llm: ScriptedLLM) -> PipelineServices:
    """The pipeline as another replica (another owner id) sees it."""
    other = pipeline_services(services.session_factory, services.n8n, llm.url)
    other.owner = "otherhost:2"
    return other


def lease_of(session_factory: sessionmaker[Session], run_id: int) -> dt.datetime:
    with session_factory() as session:
        run = session.get(PipelineRun, run_id)
        assert run is not None and run.lease_until is not None
        return run.lease_until


def tokens_charged(session_factory: sessionmaker[Session]) -> int:
    with session_factory() as session:
        return int(session.scalar(select(func.coalesce(func.sum(QuotaUsage.tokens_used), 0))))


def test_a_run_waiting_for_a_free_worker_is_not_driven_again_by_recovery(
    services: PipelineServices,
    project_id: int,
    llm: ScriptedLLM,
    session_factory: sessionmaker[Session],
) -> None:
    """The bug: recovery took a queued run waiting in the pool for a crashed one and drove it a
    second time (two LLM calls, tokens charged twice)."""
    llm.delay_s = 2.0  # the first run holds the only worker for a while
    llm.default = answer(schedule_workflow())
    first, _ = start_run(
        services, team_id=TEAM, user_id=USER, project_id=project_id, request="every morning news"
    )
    second, _ = start_run(
        services, team_id=TEAM, user_id=USER, project_id=project_id, request="every evening news"
    )
    first_lease = lease_of(session_factory, second.id)
    with ThreadPoolExecutor(max_workers=1) as pool:  # the bot's run pool, one worker
        futures = [pool.submit(execute_run, services, run.id) for run in (first, second)]
        # `second` has waited in the pool longer than its first lease, renewed meanwhile.
        wait_until(
            lambda: (
                dt.datetime.now(dt.UTC) > first_lease
                and lease_of(session_factory, second.id) > first_lease
            ),
            10,
            "the claim of the queued run was not renewed past its first lease",
        )
        assert not futures[1].running() and not futures[1].done()
        # Another replica's recovery pass, with a staleness far below the wait.
        assert resume_incomplete_runs(other_process(services, llm), older_than_s=0.5) == []
        outcomes = [f.result(timeout=60) for f in futures]

    assert all(o.ok for o in outcomes), [o.message for o in outcomes]
    assert len(llm.requests) == 2  # one LLM call per request, none repeated
    assert tokens_charged(session_factory) == sum(o.tokens for o in outcomes)
    with session_factory() as session:
        assert session.scalar(select(func.count(WorkflowVersion.id))) == 2


def test_execute_run_refuses_a_run_another_worker_holds(
    services: PipelineServices, project_id: int, llm: ScriptedLLM
) -> None:
    llm.default = answer(schedule_workflow())
    created, _ = start_run(
        services, team_id=TEAM, user_id=USER, project_id=project_id, request="every morning news"
    )
    with services.session_factory.begin() as session:
        row = session.get(PipelineRun, created.id)
        assert row is not None
        row.state = "generating"
        row.owner_pid = "otherhost:2/5eed"
        row.lease_until = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=10)

    outcome = execute_run(services, created.id)

    assert outcome.state == "generating" and not outcome.ok
    assert "already being worked on" in outcome.message
    assert llm.requests == []
    with services.session_factory() as session:
        row = session.get(PipelineRun, created.id)
        assert row is not None and row.owner_pid == "otherhost:2/5eed"


def test_queued_runs_of_a_dead_process_are_picked_up_once_their_lease_ran_out(
    services: PipelineServices, project_id: int, llm: ScriptedLLM
) -> None:
    llm.default = answer(schedule_workflow())
    created, _ = start_run(
        services, team_id=TEAM, user_id=USER, project_id=project_id, request="every morning news"
    )
    # The process that queued it died before a worker took it: its lease is never renewed.
    with services.session_factory.begin() as session:
        row = session.get(PipelineRun, created.id)
        assert row is not None
        row.owner_pid = "deadhost:1"
        row.lease_until = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    other = other_process(services, llm)

    [outcome] = resume_incomplete_runs(other, older_than_s=60)

    assert outcome.run_id == created.id and outcome.ok, outcome.message
    assert len(llm.requests) == 1
    assert resume_incomplete_runs(other, older_than_s=0) == []


def test_a_worker_that_lost_its_claim_stops_without_writing(
    services: PipelineServices,
    project_id: int,
    llm: ScriptedLLM,
    session_factory: sessionmaker[Session],
) -> None:
    """A worker whose claim another replica took over (its lease had run out) must not go on:
    its next save is refused, so the run is never driven by two workers at once."""
    llm.delay_s = 1.5
    llm.default = answer(schedule_workflow())
    created, _ = start_run(
        services, team_id=TEAM, user_id=USER, project_id=project_id, request="every morning news"
    )
    outcomes = []
    worker = threading.Thread(target=lambda: outcomes.append(execute_run(services, created.id)))
    worker.start()
    wait_until(lambda: llm.requests, 10, "the worker never called the LLM")
    with session_factory.begin() as session:  # another replica took the run over meanwhile
        row = session.get(PipelineRun, created.id)
        assert row is not None
        row.owner_pid = "otherhost:2/7a4e"
        row.lease_until = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=10)
    worker.join(timeout=30)

    [outcome] = outcomes
    assert not outcome.ok and "taken over" in outcome.message
    with session_factory() as session:
        row = session.get(PipelineRun, created.id)
        assert row is not None
        assert (row.state, row.owner_pid) == ("generating", "otherhost:2/7a4e")
        assert session.scalar(select(func.count(Workflow.id))) == 0
    # The call it made is still charged (its estimate): tokens spent are never free.
    assert tokens_charged(session_factory) > 0


def test_a_stopping_process_ends_after_the_step_and_another_takes_the_run_over_at_once(
    services: PipelineServices,
    project_id: int,
    llm: ScriptedLLM,
    session_factory: sessionmaker[Session],
) -> None:
    """SIGTERM: the worker finishes the LLM step it is in, stops before the next one and
    releases its claim; a run still queued is not started here. Another process's recovery
    takes both at once (no lease wait: the lease here is 10 minutes) and calls the LLM only
    for the run that had not called it yet."""
    services.lease_s = 600.0
    llm.delay_s = 1.0
    llm.default = answer(schedule_workflow())
    driving, _ = start_run(
        services, team_id=TEAM, user_id=USER, project_id=project_id, request="every morning news"
    )
    queued, _ = start_run(
        services, team_id=TEAM, user_id=USER, project_id=project_id, request="every evening news"
    )
    with ThreadPoolExecutor(max_workers=1) as pool:
        first = pool.submit(execute_run, services, driving.id)
        wait_until(lambda: llm.requests, 60, "the run never called the LLM")
        services.stopping.set()  # what SIGTERM does, while the LLM answers
        handed = first.result(timeout=60)
        not_started = execute_run(services, queued.id)
    assert handed.state == "validating" and "another one picks the request up" in handed.message
    assert not_started.state == "queued"
    assert services.claims.release_all() == []  # both claims were already released
    assert len(llm.requests) == 1

    recovered = resume_incomplete_runs(other_process(services, llm), older_than_s=600)
    assert sorted(o.run_id for o in recovered) == sorted([driving.id, queued.id])
    assert all(o.ok for o in recovered), [o.message for o in recovered]
    assert len(llm.requests) == 2  # the first run's answer was not asked for again
