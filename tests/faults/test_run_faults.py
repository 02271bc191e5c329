"""Runs through faults of the services around them: Postgres drops every connection of the
product database mid-deploy (what a Postgres restart does to a running process; the shared
server itself is never restarted), and the LLM server hangs. Each run ends succeeded or failed
with its reason; nothing is duplicated or left behind."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from core.kernel.models import PipelineRun, QuotaUsage, Workflow, WorkflowVersion
from core.kernel.settings import Settings, get_settings
from core.kernel.vocabulary import RunState, VersionStatus
from core.n8n import N8nClient
from core.pipeline import execute_run, start_run
from tests.bot.conftest import TEAM
from tests.builders import new_project, pipeline_services
from tests.cli.common import run
from tests.conftest import PG_ADMIN
from tests.doubles.llm_server import ScriptedLLM
from tests.faults.conftest import PrivateN8n
from tests.faults.test_deploy_faults import copies, pending_version, wait_until
from tests.workflows import answer, labelled_schedule


@pytest.fixture
def client(private_n8n: PrivateN8n) -> Iterator[N8nClient]:
    with private_n8n.client() as c:
        yield c


def drop_connections(database_url: str) -> int:
    """Terminate every backend connected to the product database (as a restart would)."""
    name = database_url.rsplit("/", 1)[-1]
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        ).fetchall()
    return len(rows)


def test_a_run_whose_database_connections_drop_mid_deploy_still_deploys_once(
    private_n8n: PrivateN8n,
    client: N8nClient,
    session_factory: sessionmaker[Session],
    database_url: str,
    llm: ScriptedLLM,
) -> None:
    name = f"db drop {uuid.uuid4().hex[:8]}"
    llm.script(answer(labelled_schedule("db drop", name=name)))
    services = pipeline_services(session_factory, client, llm.url)
    project_id = new_project(session_factory, team_id=TEAM, user_id="U1")
    run_row, _ = start_run(
        services, team_id=TEAM, user_id="U1", project_id=project_id, request="a morning digest"
    )
    # n8n is frozen while the run deploys, so the deploy is mid-way (its lock held on its own
    # connection, its version pending) when every connection of the database drops.
    private_n8n.freeze()
    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(execute_run, services, run_row.id)
        wait_until(lambda: pending_version(session_factory), 60, "the run starts its deploy")
        assert drop_connections(database_url) >= 1
        private_n8n.resume()
        outcome = running.result(timeout=120)
    assert outcome.state == RunState.succeeded, outcome.message
    with session_factory() as s:
        versions = s.scalars(select(WorkflowVersion)).all()
        assert [(v.version, v.status) for v in versions] == [(1, VersionStatus.deployed)]
        wf = s.scalars(select(Workflow)).one()
    found = copies(client, name)
    assert found == [wf.n8n_workflow_id]
    assert client.get_workflow(found[0])["active"] is True
    client.delete_workflow(found[0])


def test_a_run_whose_deploy_n8n_never_answers_fails_with_what_to_check_and_no_repair(
    private_n8n: PrivateN8n,
    client: N8nClient,
    session_factory: sessionmaker[Session],
    llm: ScriptedLLM,
) -> None:
    name = f"never answered {uuid.uuid4().hex[:8]}"
    llm.script(answer(labelled_schedule("never", name=name)))
    services = pipeline_services(
        session_factory, client, llm.url, settings=Settings(n8n_deadline_s=5)
    )
    project_id = new_project(session_factory, team_id=TEAM, user_id="U1")
    run_row, _ = start_run(
        services, team_id=TEAM, user_id="U1", project_id=project_id, request="a morning digest"
    )
    said: list[str] = []
    private_n8n.freeze()
    try:
        outcome = execute_run(services, run_row.id, lambda event: said.append(event.message))
    finally:
        private_n8n.resume()
    # The progress message (Slack's, the CLI's) shows the wait.
    assert any(line.startswith("still waiting for n8n (") for line in said), said
    assert outcome.state == RunState.failed
    assert "n8n did not answer while deploying version 1" in outcome.message, outcome.message
    assert "Nothing was duplicated" in outcome.message
    assert len(llm.requests) == 1  # a silent n8n is not a reason to ask the LLM for a repair
    with session_factory() as s:
        # The run's draft went with it; its failed version was removed with the draft.
        assert s.scalar(select(func.count()).select_from(Workflow)) == 0
    # What n8n made once resumed is reconciliation's (tests/faults/test_reconcile.py).
    wait_until(lambda: copies(client, name), 30, "n8n makes the late create")
    for n8n_id in copies(client, name):
        client.delete_workflow(n8n_id)


def test_an_llm_that_hangs_fails_the_run_in_bounded_time_with_its_reason(
    private_n8n: PrivateN8n,
    session_factory: sessionmaker[Session],
    database_url: str,
    llm: ScriptedLLM,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The model answers, but only after 5 s; each try may wait 1 s (3 tries).
    llm.delay_s = 5.0
    llm.default = answer(labelled_schedule("too late"))
    for key, value in {
        "DATABASE_URL": database_url,
        "N8N_URL": private_n8n.url,
        "N8N_API_KEY": private_n8n.api_key,
        "N8N_MCP_COMMAND": "",
        "OPENAI_BASE_URL": llm.url,
        "OPENAI_API_KEY": "test",
        "CLIXEN_CLI_USER": "alice",
        "CLIXEN_LLM_TIMEOUT_S": "1",
    }.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    try:
        assert run(capsys, "project", "create", "ops")[0] == 0
        code, out, err = run(capsys, "create", "post a digest every morning", "-p", "ops")
    finally:
        get_settings.cache_clear()
    assert code != 0, out
    assert "The LLM server did not answer in time (1 s a try, 3 tries" in out + err, (out, err)
    with session_factory() as s:
        run_row = s.scalars(select(PipelineRun)).one()
        assert run_row.state == RunState.failed
        assert run_row.error and "did not answer in time" in run_row.error
        # No workflow was made; of the tokens reserved only the prompts stay charged.
        assert s.scalar(select(func.count()).select_from(Workflow)) == 0
        used = s.scalar(select(func.coalesce(func.sum(QuotaUsage.tokens_used), 0)))
        assert 0 < used < 8_000, used
