"""Several scheduler processes on one Postgres (real subprocesses of `clixen scheduler run`),
the real n8n behind them: each job runs once per tick, a runtime error is reported once, an
interrupted run is recovered once — and recovered by the next start after its process died."""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import socket
import uuid
from collections import Counter

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.kernel.models import JobRun, PipelineRun, Workflow
from core.n8n import N8nClient
from tests.conftest import N8nStack
from tests.scheduler.conftest import (
    TEAM,
    USER,
    closed_port,
    finish_replica,
    record_running_workflow,
    scheduler_env,
    start_replica,
    thread_notices,
)
from tests.workflows import webhook_workflow

WF_CHANNEL, WF_THREAD = "C0WF", "1700000000.000100"
RUN_CHANNEL, RUN_THREAD = "C0RUN", "1700000000.000200"
FAILING_NODE = "Call the partner API"


def _failing_workflow_in_n8n(
    client: N8nClient, session_factory: sessionmaker[Session], project_id: int, cleanup: list[str]
) -> int:
    """An active workflow whose one execution failed at FAILING_NODE, as the product knows it."""
    path = f"replica-{uuid.uuid4().hex[:10]}"
    wf = webhook_workflow(
        path,
        {
            "name": FAILING_NODE,
            "type": "n8n-nodes-base.httpRequest",
            "typeVersion": 4.2,
            "parameters": {"url": f"http://127.0.0.1:{closed_port()}/orders", "options": {}},
        },
    )
    n8n_id = str(client.create_workflow(wf)["id"])
    cleanup.append(n8n_id)
    client.activate(n8n_id)
    assert client.call_webhook(path, json={"order": 1}).status_code == 200
    execution = client.wait_for_execution(n8n_id, timeout_s=30)
    assert execution is not None and execution["status"] == "error"
    return record_running_workflow(
        session_factory,
        project_id=project_id,
        n8n_id=n8n_id,
        workflow=wf,
        name="Partner orders",
        channel=WF_CHANNEL,
        thread=WF_THREAD,
    )


def _interrupted_run(session_factory: sessionmaker[Session], project_id: int) -> int:
    """A run left in `deploying` by a process that died: dead owner, heartbeat an hour old."""
    candidate = webhook_workflow(
        f"recovered-{uuid.uuid4().hex[:10]}",
        {
            "name": "Do nothing",
            "type": "n8n-nodes-base.noOp",
            "typeVersion": 1,
            "parameters": {},
        },
    )
    candidate["name"] = "Recovered after a crash"
    stale = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    with session_factory.begin() as session:
        run = PipelineRun(
            project_id=project_id,
            team_id=TEAM,
            user_id=USER,
            kind="create",
            request="when called, do nothing",
            state="deploying",
            step_detail="deploying",
            context={"candidate": candidate, "summary": "Does nothing when called."},
            slack_channel_id=RUN_CHANNEL,
            slack_thread_ts=RUN_THREAD,
            owner_pid="crashed-host:999999",
            heartbeat_at=stale,
        )
        session.add(run)
        session.flush()
        return run.id


def _ran_lines(stderr: str) -> list[tuple[str, str]]:
    return re.findall(r"job (\w+) tick (\S+) ran", stderr)


def test_two_replicas_run_each_job_once_per_tick(
    n8n: N8nStack,
    n8n_client: N8nClient,
    database_url: str,
    session_factory: sessionmaker[Session],
    project_id: int,
    n8n_cleanup: list[str],
) -> None:
    workflow_id = _failing_workflow_in_n8n(n8n_client, session_factory, project_id, n8n_cleanup)
    run_id = _interrupted_run(session_factory, project_id)
    # Each tick's "ran" line is DEBUG (at INFO a tick says nothing): this test reads them.
    env = scheduler_env(n8n, database_url, CLIXEN_RECOVERY_STALE_S="60", CLIXEN_LOG_LEVEL="DEBUG")
    args = ("--jobs", "quota_reset,execution_watch,run_recovery", "--interval", "1")
    replicas = [start_replica(env, *args, "--duration", "10") for _ in range(2)]
    outputs = [finish_replica(p) for p in replicas]
    stdout = "".join(out for out, _ in outputs)

    # The runtime error is reported once in the workflow's thread, with n8n's node and message.
    [failure_notice] = thread_notices(stdout, WF_CHANNEL, WF_THREAD)
    assert FAILING_NODE in failure_notice
    # The interrupted run is recovered and its user told once.
    [recovery_notice] = thread_notices(stdout, RUN_CHANNEL, RUN_THREAD)
    assert "interrupted by a restart" in recovery_notice
    with session_factory() as session:
        wf = session.get(Workflow, workflow_id)
        assert wf is not None and wf.last_execution_status == "error"
        run = session.get(PipelineRun, run_id)
        assert run is not None and run.state == "succeeded", (run.state, run.error)
        recovered = session.get(Workflow, run.workflow_id)
        assert recovered is not None and recovered.n8n_workflow_id
        n8n_cleanup.append(recovered.n8n_workflow_id)
        rows = list(session.scalars(select(JobRun).where(~JobRun.tick.startswith("start:"))))

    # Every claimed tick was run by exactly one replica, and the replicas kept ticking.
    ran = [pair for _, err in outputs for pair in _ran_lines(err)]
    assert Counter(ran).most_common(1)[0][1] == 1
    assert sorted(ran) == sorted((r.job, r.tick) for r in rows)
    assert all(r.ok for r in rows), [r.summary for r in rows if not r.ok]
    per_job = Counter(r.job for r in rows)
    assert per_job["quota_reset"] >= 5 and per_job["execution_watch"] >= 5, per_job
    # Ticks that fire while the ~6 s recovery still holds its job lock are skipped, not queued.
    assert per_job["run_recovery"] >= 2, per_job
    pids = {str(p.pid) for p in replicas}
    assert {r.runner.rsplit(":", 1)[1] for r in rows} <= pids


def test_a_run_interrupted_by_a_killed_process_is_recovered_by_the_nextstart_replica(
    n8n: N8nStack,
    database_url: str,
    session_factory: sessionmaker[Session],
    project_id: int,
    n8n_cleanup: list[str],
) -> None:
    run_id = _interrupted_run(session_factory, project_id)
    env = scheduler_env(n8n, database_url, CLIXEN_RECOVERY_STALE_S="60")
    # The replica that owned the run is killed without a chance to clean up.
    victim = start_replica(env, "--jobs", "quota_reset")
    with session_factory.begin() as session:
        run = session.get(PipelineRun, run_id)
        assert run is not None
        run.owner_pid = f"{socket.gethostname()}:{victim.pid}"
    os.killpg(victim.pid, signal.SIGKILL)
    victim.wait(10)

    # The next start recovers it at once (not a full recovery interval later).
    successor = start_replica(env, "--jobs", "run_recovery", "--duration", "15")
    out, _ = finish_replica(successor)
    [notice] = thread_notices(out, RUN_CHANNEL, RUN_THREAD)
    assert "finished it" in notice and "Recovered after a crash" in notice
    with session_factory() as session:
        run = session.get(PipelineRun, run_id)
        assert run is not None and run.state == "succeeded", (run.state, run.error)
        wf = session.get(Workflow, run.workflow_id)
        assert wf is not None and wf.status == "active" and wf.n8n_workflow_id
        n8n_cleanup.append(wf.n8n_workflow_id)
