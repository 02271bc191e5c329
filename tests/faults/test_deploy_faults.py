"""Deploys against an n8n that stops answering: frozen (SIGSTOP) and resumed, frozen past the
deploy's deadline, killed mid-create. Each ends with a clear message, n8n never holds two
copies of one deploy, and what a late n8n still made is removed by reconciliation."""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from core.deploy import DeployFailed, create_workflow_record, deploy_new_workflow, deploy_version
from core.deploy.marker import mark_of
from core.deploy.reconcile import reconcile
from core.kernel.models import QuotaUsage, Workflow, WorkflowVersion
from core.kernel.settings import Settings, get_settings
from core.kernel.vocabulary import VersionStatus
from core.n8n import N8nClient
from core.workspace.projects import Actor
from tests.bot.conftest import TEAM
from tests.builders import new_project
from tests.cli.common import run
from tests.faults.conftest import READ_TIMEOUT_S, PrivateN8n
from tests.workflows import labelled_schedule

OWNER = Actor(TEAM, "U1")


def wait_until(condition: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout} s: {what}"
        time.sleep(0.1)


def copies(client: N8nClient, name: str) -> list[str]:
    """The ids of the n8n workflows named `name` that carry Clixen's mark."""
    return [
        str(wf["id"])
        for wf in client.iter_workflows(name=name)
        if wf.get("name") == name and mark_of(wf) is not None
    ]


def pending_version(session_factory: sessionmaker[Session]) -> bool:
    with session_factory() as s:
        return bool(
            s.scalar(
                select(func.count())
                .select_from(WorkflowVersion)
                .where(WorkflowVersion.status == VersionStatus.pending)
            )
        )


@pytest.fixture
def client(private_n8n: PrivateN8n) -> Iterator[N8nClient]:
    with private_n8n.client() as c:
        yield c


def test_a_create_n8n_did_not_answer_is_never_sent_again_and_is_found_when_n8n_resumes(
    private_n8n: PrivateN8n, client: N8nClient, session_factory: sessionmaker[Session]
) -> None:
    project_id = new_project(session_factory, team_id=TEAM, user_id=OWNER.user_id)
    name = f"frozen create {uuid.uuid4().hex[:8]}"
    with session_factory.begin() as s:
        wid = create_workflow_record(
            session=s, project_id=project_id, name=name, created_by=OWNER.user_id
        ).id
    lines: list[str] = []
    private_n8n.freeze()
    with ThreadPoolExecutor(1) as pool:
        deploying = pool.submit(
            deploy_version,
            session_factory=session_factory,
            n8n=client,
            workflow_id=wid,
            json_payload=labelled_schedule("frozen", name=name),
            source="import",
            actor=OWNER,
            progress=lines.append,
            settings=Settings(n8n_deadline_s=20),  # a note every 5 s
        )
        # The fault: n8n stays frozen for several of the client's read timeouts (each of which
        # used to send the create again).
        time.sleep(3 * READ_TIMEOUT_S)
        private_n8n.resume()
        version = deploying.result(timeout=90)
    assert version.status == VersionStatus.deployed
    assert any("did not answer the create" in line for line in lines), lines
    assert any(line.startswith("still waiting for n8n (") for line in lines), lines
    found = copies(client, name)
    assert len(found) == 1, found
    with session_factory() as s:
        wf = s.get(Workflow, wid)
        assert wf is not None and wf.n8n_workflow_id == found[0]
    assert client.get_workflow(found[0])["active"] is True
    client.delete_workflow(found[0])


def test_clixen_deploy_with_n8n_frozen_past_its_deadline_ends_clearly_and_leaves_nothing(
    private_n8n: PrivateN8n,
    client: N8nClient,
    session_factory: sessionmaker[Session],
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("N8N_URL", private_n8n.url)
    monkeypatch.setenv("N8N_API_KEY", private_n8n.api_key)
    monkeypatch.setenv("CLIXEN_CLI_USER", "alice")
    monkeypatch.setenv("CLIXEN_N8N_DEADLINE_S", "6")
    get_settings.cache_clear()
    try:
        assert run(capsys, "project", "create", "ops")[0] == 0
        name = f"frozen deploy {uuid.uuid4().hex[:8]}"
        path = tmp_path / "wf.json"
        path.write_text(json.dumps(labelled_schedule("late", name=name)))
        private_n8n.freeze()
        try:
            code, out, err = run(capsys, "deploy", str(path), "-p", "ops")
        finally:
            private_n8n.resume()
    finally:
        get_settings.cache_clear()
    assert code == 1, (out, err)
    assert "still waiting for n8n (" in out, out
    assert "n8n did not answer while deploying version 1" in err, err
    assert "Check that n8n is running" in err and "Nothing was duplicated" in err, err
    with session_factory() as s:
        # No draft, no version left pending, the deploy quota given back.
        assert s.scalar(select(func.count()).select_from(Workflow)) == 0
        assert s.scalar(select(func.count()).select_from(WorkflowVersion)) == 0
        assert not s.scalar(select(func.coalesce(func.sum(QuotaUsage.deploys_used), 0)))

    # Resumed, n8n still makes the one create it was sent, late: one copy, never four.
    wait_until(lambda: copies(client, name), 30, "n8n makes the late create")
    late = copies(client, name)
    assert len(late) == 1, late
    # Reconciliation removes it: no product workflow points at it.
    done = reconcile(
        session_factory=session_factory, n8n=client, now=dt.datetime.now(dt.UTC), grace_s=0
    )
    assert late[0] in done["n8n_removed"]
    assert copies(client, name) == []


def test_n8n_killed_mid_create_ends_the_deploy_clearly_with_nothing_left(
    private_n8n: PrivateN8n, client: N8nClient, session_factory: sessionmaker[Session]
) -> None:
    project_id = new_project(session_factory, team_id=TEAM, user_id=OWNER.user_id)
    private_n8n.freeze()
    with ThreadPoolExecutor(1) as pool:
        deploying = pool.submit(
            deploy_new_workflow,
            session_factory=session_factory,
            n8n=client,
            project_id=project_id,
            name=f"killed {uuid.uuid4().hex[:8]}",
            json_payload=labelled_schedule("killed"),
            source="import",
            actor=OWNER,
            settings=Settings(n8n_deadline_s=8),
        )
        wait_until(lambda: pending_version(session_factory), 30, "the deploy reaches n8n")
        private_n8n.kill()
        with pytest.raises(DeployFailed) as failed:
            deploying.result(timeout=60)
    message = str(failed.value)
    assert "n8n did not answer while deploying version 1" in message, message
    assert "Nothing was duplicated" in message, message
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Workflow)) == 0
        assert s.scalar(select(func.count()).select_from(WorkflowVersion)) == 0
