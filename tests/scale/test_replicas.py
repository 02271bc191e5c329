"""Two `clixen serve` replicas behind one Slack app, on one product Postgres, with the scripted
LLM and the real n8n: slash commands arrive at either replica and Slack's duplicate deliveries at
the other one; each request becomes exactly one run and one deployed workflow. A replica killed
in the middle of a run leaves it to the other, which finishes it (run recovery). Rollbacks of one
workflow confirmed on both replicas at once run one after the other, and a Slack retry of an
event reaching the other replica is recognised."""

from __future__ import annotations

import signal
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from core.deploy import create_workflow_record, deploy_version
from core.kernel.models import PipelineRun, Workflow, WorkflowVersion
from core.kernel.settings import get_settings
from core.kernel.vocabulary import FINISHED, RunState
from core.n8n import N8nClient
from core.workspace.projects import Actor
from tests.bot.conftest import TEAM
from tests.builders import delete_deployed, new_project
from tests.conftest import N8nStack
from tests.doubles.llm_server import ScriptedLLM, start_llm_server
from tests.doubles.slack_api import FakeSlack, start_fake_slack
from tests.scale.replicas import (
    Replica,
    drain,
    scripted_answer,
    serve_env,
    start_replica,
    stop_replicas,
)
from tests.waiting import wait_until
from tests.workflows import label_of, labelled_schedule

REQUESTS, DUPLICATES = 40, 10


@pytest.fixture
def replicas(
    tmp_path: Path,
    database_url: str,
    session_factory: sessionmaker[Session],
    n8n: N8nStack,
    n8n_client: N8nClient,
) -> Iterator[tuple[list[Replica], FakeSlack, ScriptedLLM]]:
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
    started: list[Replica] = []
    try:
        for name in ("replica-a", "replica-b"):
            started.append(start_replica(tmp_path, name, env, slack))
        yield started, slack, llm
    finally:
        stop_replicas(started)
        llm_server.shutdown()
        llm_server.server_close()
        slack_server.shutdown()
        slack_server.server_close()
        delete_deployed(session_factory, n8n_client)


def finished_runs(factory: sessionmaker[Session]) -> int:
    with factory() as s:
        return int(
            s.scalar(
                select(func.count())
                .select_from(PipelineRun)
                .where(PipelineRun.state.in_([str(x) for x in FINISHED]))
            )
            or 0
        )


def wait_finished(factory: sessionmaker[Session], count: int, timeout: float) -> None:
    wait_until(
        lambda: finished_runs(factory) >= count,
        timeout,
        lambda: f"{finished_runs(factory)} of {count} runs finished",
    )


def test_forty_requests_across_two_replicas_with_duplicates_make_forty_runs(
    replicas: tuple[list[Replica], FakeSlack, ScriptedLLM],
    session_factory: sessionmaker[Session],
    n8n_client: N8nClient,
) -> None:
    (a, b), _, _ = replicas
    triggers = [f"trig-{uuid.uuid4().hex[:10]}" for _ in range(REQUESTS)]
    deliveries = [
        ((a, b)[i % 2], f"create report number {i}", trigger) for i, trigger in enumerate(triggers)
    ]
    # Slack delivers the first ten again, each to the other replica.
    deliveries += [
        ((b, a)[i % 2], f"create report number {i}", triggers[i]) for i in range(DUPLICATES)
    ]

    def deliver(item: tuple[Replica, str, str]) -> int:
        # One user per request: a person may have only 3 requests in progress at once.
        replica, text, trigger = item
        user = f"U{int(text.split()[-1]):03d}"
        return int(replica.sender.command(text, user=user, trigger_id=trigger).status_code)

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert set(pool.map(deliver, deliveries)) == {200}
    wait_finished(session_factory, REQUESTS, timeout=240)
    drain([a, b])  # whatever a late duplicate would do has been done

    with session_factory() as s:
        runs = s.scalars(select(PipelineRun)).all()
        assert len(runs) == REQUESTS
        assert {r.state for r in runs} == {RunState.succeeded.value}, [
            (r.id, r.state, r.error) for r in runs if r.state != RunState.succeeded.value
        ]
        assert {r.idempotency_key for r in runs} == {f"slack:cmd:{t}" for t in triggers}
        # Both replicas drove runs.
        drivers = {str(r.owner_pid).split("/")[0].rsplit(":", 1)[-1] for r in runs}
        assert drivers == {str(a.proc.pid), str(b.proc.pid)}, drivers
        workflows = s.scalars(select(Workflow)).all()
        assert len(workflows) == REQUESTS
        n8n_ids = {w.n8n_workflow_id for w in workflows}
        assert None not in n8n_ids and len(n8n_ids) == REQUESTS
        versions = s.scalars(select(WorkflowVersion)).all()
        assert len(versions) == REQUESTS and {v.version for v in versions} == {1}
    for n8n_id in n8n_ids:
        assert n8n_client.get_workflow(str(n8n_id))["active"] is True


def test_a_replica_killed_during_a_run_leaves_it_to_the_other(
    replicas: tuple[list[Replica], FakeSlack, ScriptedLLM],
    session_factory: sessionmaker[Session],
) -> None:
    (a, b), _, llm = replicas
    assert a.sender.command("create slow report number 7").status_code == 200
    wait_until(lambda: any("slow report" in r.text for r in llm.requests), 60, a.output)
    with session_factory() as s:
        run = s.scalars(select(PipelineRun)).one()
        assert run.state not in FINISHED and f":{a.proc.pid}" in str(run.owner_pid)
    # Killed mid-call to the LLM: no chance to release its claim.
    a.proc.send_signal(signal.SIGKILL)
    a.proc.wait(timeout=10)
    killed_at = time.monotonic()

    wait_finished(session_factory, 1, timeout=120)
    recovered_in = time.monotonic() - killed_at
    with session_factory() as s:
        run = s.scalars(select(PipelineRun)).one()
        assert run.state == RunState.succeeded.value, (run.state, run.error)
        assert f":{b.proc.pid}" in str(run.owner_pid), run.owner_pid
        versions = s.scalars(select(WorkflowVersion)).all()
        assert len(versions) == 1 and versions[0].status == "deployed"
    print(f"run {run.id} finished by replica b {recovered_in:.1f} s after replica a was killed")


def test_rollbacks_of_one_workflow_from_two_replicas_serialise(
    replicas: tuple[list[Replica], FakeSlack, ScriptedLLM],
    session_factory: sessionmaker[Session],
    n8n_client: N8nClient,
) -> None:
    (a, b), slack, _ = replicas
    owner = Actor(TEAM, "U1")
    project_id = new_project(session_factory, team_id=TEAM, user_id=owner.user_id)
    with session_factory.begin() as s:
        wid = create_workflow_record(
            session=s, project_id=project_id, name="digest", created_by=owner.user_id
        ).id
    for label in ("one", "two", "three"):
        deploy_version(
            session_factory=session_factory,
            n8n=n8n_client,
            workflow_id=wid,
            json_payload=labelled_schedule(label),
            source="generate",
            actor=owner,
            settings=get_settings(),
        )
    # Two people confirm different rollbacks of the same workflow at once, on two replicas.
    with ThreadPoolExecutor(max_workers=2) as pool:
        codes = list(
            pool.map(
                lambda item: (
                    item[0]
                    .sender.action(
                        {"action_id": "rollback_confirm", "type": "button", "value": item[1]}
                    )
                    .status_code
                ),
                [(a, f"{wid}:1"), (b, f"{wid}:2")],
            )
        )
    assert codes == [200, 200]
    slack.wait_for("respond", 2, timeout=60)
    with session_factory() as s:
        versions = s.scalars(
            select(WorkflowVersion)
            .where(WorkflowVersion.workflow_id == wid)
            .order_by(WorkflowVersion.version)
        ).all()
        head = s.get(Workflow, wid)
        assert head is not None and head.n8n_workflow_id
        n8n_id, head_version = head.n8n_workflow_id, head.head_version
    # One after the other: two new versions, a linear history, one deployed head, and n8n holds
    # exactly the head's content.
    assert [v.version for v in versions] == [1, 2, 3, 4, 5]
    assert {v.rolled_back_from for v in versions[3:]} == {1, 2}
    assert [v.status for v in versions] == ["superseded"] * 4 + ["deployed"]
    assert head_version == 5
    assert label_of(n8n_client.get_workflow(n8n_id)) == label_of(versions[4].json_payload)


def test_a_slack_retry_of_an_event_at_the_other_replica_starts_one_run(
    replicas: tuple[list[Replica], FakeSlack, ScriptedLLM],
    session_factory: sessionmaker[Session],
) -> None:
    (a, b), _, _ = replicas
    event = {
        "type": "app_mention",
        "channel": "C1",
        "user": "U1",
        "text": "<@UBOT> create report number 3",
        "ts": f"{time.time():.6f}",
    }
    event_id = f"Ev{uuid.uuid4().hex[:10]}"
    assert a.sender.event(event, event_id=event_id).status_code == 200
    retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    assert b.sender.event(event, event_id=event_id, headers=retry).status_code == 200
    wait_finished(session_factory, 1, timeout=120)
    drain([a, b])  # a second run would have started by now
    with session_factory() as s:
        runs = s.scalars(select(PipelineRun)).all()
        assert [r.state for r in runs] == [RunState.succeeded.value]
        assert len(s.scalars(select(WorkflowVersion)).all()) == 1
