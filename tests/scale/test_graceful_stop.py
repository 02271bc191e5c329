"""A `clixen serve` replica stopped with SIGTERM in the middle of a run: it finishes the step in
progress, hands the run over (claim released, the other replicas told), closes and exits 0; the
other replica finishes the run at once — not after the lease, which is set far beyond the wait
here — and nothing runs twice (one LLM call, one version, one n8n workflow)."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.kernel.models import PipelineRun, Workflow, WorkflowVersion
from core.kernel.vocabulary import FINISHED, RunState
from core.n8n import N8nClient
from tests.builders import delete_deployed
from tests.conftest import N8nStack
from tests.doubles.llm_server import ScriptedLLM, start_llm_server
from tests.doubles.slack_api import FakeSlack, start_fake_slack
from tests.scale.replicas import Replica, scripted_answer, serve_env, start_replica, stop_replicas

# Neither the lease nor the recovery tick can explain a takeover within the waits below.
FAR_S = "600"


@pytest.fixture
def replicas(
    tmp_path: Path,
    database_url: str,
    session_factory: sessionmaker[Session],
    n8n: N8nStack,
    n8n_client: N8nClient,
) -> Iterator[tuple[list[Replica], ScriptedLLM]]:
    llm = ScriptedLLM(default=scripted_answer)
    llm_server, _ = start_llm_server(llm)
    slack = FakeSlack()
    slack_server = start_fake_slack(slack)
    env = serve_env(
        database_url=database_url,
        slack_url=slack.url,
        llm_url=llm.url,
        n8n_url=n8n.url,
        n8n_api_key=n8n.api_key,
    )
    env.update(
        CLIXEN_RECOVERY_STALE_S=FAR_S,
        CLIXEN_RECOVERY_INTERVAL_S=FAR_S,
        CLIXEN_SHUTDOWN_GRACE_S="30",
    )
    started: list[Replica] = []
    try:
        for name in ("replica-a", "replica-b"):
            started.append(start_replica(tmp_path, name, env, slack))
        yield started, llm
    finally:
        stop_replicas(started)
        llm_server.shutdown()
        llm_server.server_close()
        slack_server.shutdown()
        slack_server.server_close()
        delete_deployed(session_factory, n8n_client)


def the_run(factory: sessionmaker[Session]) -> PipelineRun:
    with factory() as s:
        return s.scalars(select(PipelineRun)).one()


def test_sigterm_mid_run_hands_it_to_the_other_replica_at_once_and_exits_0(
    replicas: tuple[list[Replica], ScriptedLLM],
    session_factory: sessionmaker[Session],
    n8n_client: N8nClient,
) -> None:
    (a, b), llm = replicas
    assert a.sender.command("create slow report number 7").status_code == 200
    deadline = time.monotonic() + 60
    while not any("slow report" in r.text for r in llm.requests):
        assert time.monotonic() < deadline, a.output()
        time.sleep(0.1)
    assert f":{a.proc.pid}" in str(the_run(session_factory).owner_pid)

    # SIGTERM while replica a waits for the LLM's (slow) answer.
    a.proc.send_signal(signal.SIGTERM)
    assert a.proc.wait(timeout=60) == 0, a.output()
    log = a.output()
    assert "handed over runs" in log or "handed over at" in log, log

    deadline = time.monotonic() + 60
    while (run := the_run(session_factory)).state not in FINISHED:
        assert time.monotonic() < deadline, (run.state, run.owner_pid, b.output())
        time.sleep(0.2)
    assert run.state == RunState.succeeded, (run.state, run.error)
    assert f":{b.proc.pid}" in str(run.owner_pid), run.owner_pid
    # Nothing ran twice: a finished its LLM step, b went on from there.
    assert sum("slow report" in r.text for r in llm.requests) == 1
    with session_factory() as s:
        versions = s.scalars(select(WorkflowVersion)).all()
        assert [(v.version, v.status) for v in versions] == [(1, "deployed")]
        workflow = s.scalars(select(Workflow)).one()
    assert n8n_client.get_workflow(str(workflow.n8n_workflow_id))["active"] is True
