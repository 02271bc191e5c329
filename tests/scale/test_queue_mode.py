"""n8n in queue mode, for real: a workflow deployed through the product runs on a worker, and a
killed worker leaves the queue to the others.

n8n's execution record does not name the process that ran it (execution_entity has no worker
column), so "ran on a worker" is read from the processes' own logs: the main process logs
"Enqueued execution <id> (job <j>)", the worker that takes the job "Worker started execution <id>"
and "Worker finished execution <id>"; the record itself (status) is read from n8n's Postgres."""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg.conninfo import make_conninfo
from sqlalchemy.orm import Session, sessionmaker

from core.deploy import create_workflow_record, deploy_version
from core.kernel.models import Workflow
from core.kernel.settings import get_settings
from core.n8n import N8nClient
from core.workspace.projects import Actor
from tests.builders import delete_deployed, new_project
from tests.conftest import PG_ADMIN
from tests.scale.conftest import QueueStack, stack_script
from tests.waiting import wait_until
from tests.workflows import webhook_workflow

OWNER = Actor("T-scale", "U-owner")


@pytest.fixture
def client(queue_n8n: QueueStack, session_factory: sessionmaker[Session]) -> Iterator[N8nClient]:
    with N8nClient(queue_n8n.url, queue_n8n.api_key) as c:
        yield c
        delete_deployed(session_factory, c)


def deploy_hook(factory: sessionmaker[Session], n8n: N8nClient) -> tuple[str, str]:
    """Deploy a webhook → Set workflow through the product; its webhook path and n8n id."""
    path = f"clixen-queue-{uuid.uuid4().hex[:8]}"
    project_id = new_project(factory, team_id=OWNER.team_id, user_id=OWNER.user_id)
    with factory.begin() as s:
        wid = create_workflow_record(
            session=s, project_id=project_id, name="queue hook", created_by=OWNER.user_id
        ).id
    hook = webhook_workflow(
        path,
        {"name": "Set", "type": "n8n-nodes-base.set", "typeVersion": 3.4, "parameters": {}},
        method="GET",
    )
    version = deploy_version(
        session_factory=factory,
        n8n=n8n,
        workflow_id=wid,
        json_payload=hook,
        source="generate",
        actor=OWNER,
        prompt="a hook",
        settings=get_settings(),
    )
    assert version.status == "deployed"
    with factory() as s:
        wf = s.get(Workflow, wid)
        assert wf is not None and wf.status == "active" and wf.n8n_workflow_id
        return path, wf.n8n_workflow_id


def run_hook(n8n: N8nClient, path: str, workflow_id: str, timeout_s: float = 60) -> str:
    """Call the webhook once; the id of the execution it produced, finished."""
    before = n8n.list_executions(workflow_id=workflow_id, limit=1).items
    after_id = str(before[0]["id"]) if before else None
    assert n8n.call_webhook(path, method="GET").status_code == 200
    execution = n8n.wait_for_execution(workflow_id, after_id=after_id, timeout_s=timeout_s)
    assert execution is not None, f"no finished execution within {timeout_s:.0f} s"
    assert execution["status"] == "success", execution
    return str(execution["id"])


def workers_that_ran(stack: QueueStack, execution_id: str, *, wait_s: float = 10) -> list[int]:
    """The workers whose log says they started and finished `execution_id`."""
    started = f"Worker started execution {execution_id} (job"
    finished = f"Worker finished execution {execution_id} (job"

    def ran() -> list[int]:
        return [
            i
            for i in range(1, stack.workers + 1)
            if started in (log := stack.worker_log(i).read_text(errors="replace"))
            and finished in log
        ]

    return wait_until(ran, wait_s, f"no worker's log says it ran execution {execution_id}")


def n8n_db_status(stack: QueueStack, execution_id: str) -> str | None:
    """The execution's status in n8n's own Postgres database."""
    with psycopg.connect(make_conninfo(PG_ADMIN, dbname=stack.pg_database)) as conn:
        row = conn.execute(
            "SELECT status FROM execution_entity WHERE id = %s", (int(execution_id),)
        ).fetchone()
    return None if row is None else str(row[0])


def test_a_workflow_deployed_through_the_product_runs_on_a_worker(
    queue_n8n: QueueStack, session_factory: sessionmaker[Session], client: N8nClient
) -> None:
    path, workflow_id = deploy_hook(session_factory, client)
    for _ in range(4):
        execution_id = run_hook(client, path, workflow_id)
        assert n8n_db_status(queue_n8n, execution_id) == "success"
        main_log = queue_n8n.main_log.read_text(errors="replace")
        assert f"Enqueued execution {execution_id} (job" in main_log
        assert f"Worker started execution {execution_id} " not in main_log
        assert len(workers_that_ran(queue_n8n, execution_id)) == 1


def test_a_killed_worker_leaves_the_queue_to_the_others(
    queue_n8n: QueueStack, session_factory: sessionmaker[Session], client: N8nClient
) -> None:
    if queue_n8n.workers < 2:
        pytest.fail(
            f"the running queue stack has {queue_n8n.workers} worker(s); this test needs 2: "
            "run 'scripts/n8n_stack.sh stop --queue' and let the tests start it"
        )
    path, workflow_id = deploy_hook(session_factory, client)
    victim = queue_n8n.workers
    pid = queue_n8n.worker_pid(victim)
    os.killpg(pid, signal.SIGKILL)
    try:
        wait_until(lambda: not os.path.exists(f"/proc/{pid}"), 10, f"worker {pid} still runs")
        for _ in range(3):
            # A job the killed worker's queue connection had already taken comes back only
            # with n8n's stalled-job check (QUEUE_WORKER_STALLED_INTERVAL, 30 s), then runs on
            # the survivor: allow for that on a loaded machine.
            execution_id = run_hook(client, path, workflow_id, timeout_s=150)
            ran = workers_that_ran(queue_n8n, execution_id)
            assert ran and victim not in ran
    finally:
        # `start --queue` starts the killed worker again and waits until it is ready.
        stack_script("start")
    assert f"worker {victim} running" in stack_script("status")
