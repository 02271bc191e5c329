"""Reconciliation removes what interrupted deploys left: marked n8n workflows no product
workflow points to, and never-deployed records without a run in progress, and nothing else."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.deploy import create_workflow_record, deploy_version
from core.deploy.lock import workflow_lock
from core.deploy.marker import DeployMark, site_of
from core.deploy.reconcile import reconcile
from core.kernel.models import DeployAttempt, PipelineRun, Workflow
from core.kernel.settings import Settings, get_settings
from core.kernel.vocabulary import RunState, WorkflowStatus
from core.n8n import N8nClient, N8nNotFound
from core.scheduler import RECONCILE
from core.scheduler.runner import default_jobs, job_schedules
from core.workspace.projects import Actor
from tests.bot.conftest import TEAM
from tests.builders import new_project
from tests.faults.conftest import PrivateN8n
from tests.workflows import labelled_schedule

OWNER = Actor(TEAM, "U1")


@pytest.fixture
def client(private_n8n: PrivateN8n) -> Iterator[N8nClient]:
    with private_n8n.client() as c:
        yield c


def exists(client: N8nClient, n8n_id: str) -> bool:
    try:
        client.get_workflow(n8n_id)
    except N8nNotFound:
        return False
    return True


def test_marked_leftovers_and_stale_drafts_go_and_everything_else_stays(
    client: N8nClient, session_factory: sessionmaker[Session]
) -> None:
    project_id = new_project(session_factory, team_id=TEAM, user_id=OWNER.user_id)
    site = site_of(session_factory)

    def record(name: str, status: str = WorkflowStatus.draft) -> int:
        with session_factory.begin() as s:
            wf = create_workflow_record(
                session=s, project_id=project_id, name=name, created_by=OWNER.user_id
            )
            wf.status = status
            return wf.id

    def marked(workflow_id: int, *, of_site: str = site) -> str:
        """A create Clixen recorded and sent, whose answer it never got."""
        mark = DeployMark(site=of_site, workflow=workflow_id, version=1, deploy=uuid.uuid4().hex)
        with session_factory.begin() as s:
            s.add(DeployAttempt(deploy=mark.deploy, workflow_id=workflow_id, version=1))
        created = client.create_workflow(mark.on(labelled_schedule(f"left {workflow_id}")))
        return str(created["id"])

    # Kept: a deployed workflow (its n8n copy carries the mark of its create).
    deployed = record("deployed")
    deploy_version(
        session_factory=session_factory,
        n8n=client,
        workflow_id=deployed,
        json_payload=labelled_schedule("live"),
        source="import",
        actor=OWNER,
        settings=get_settings(),
    )
    # Removed: a copy no record points to, a draft and a failed first deploy with no run.
    orphan = marked(deployed)
    draft, failed = record("draft"), record("failed", WorkflowStatus.failed)
    # Kept: another installation's copy; one whose workflow a deploy holds locked; a draft
    # whose run is waiting for credentials.
    foreign = marked(deployed, of_site="another-installation")
    locked_record = record("being deployed")
    locked_copy = marked(locked_record)
    waiting = record("waiting")
    with session_factory.begin() as s:
        s.add(
            PipelineRun(
                team_id=TEAM,
                user_id=OWNER.user_id,
                project_id=project_id,
                kind="create",
                request="r",
                state=RunState.awaiting_credentials,
                workflow_id=waiting,
                context={},
            )
        )
    now = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)

    # Within the grace period nothing goes.
    assert reconcile(session_factory=session_factory, n8n=client, now=now, grace_s=3600) == {
        "n8n_removed": [],
        "drafts_removed": [],
    }
    with workflow_lock(session_factory, locked_record):
        done = reconcile(session_factory=session_factory, n8n=client, now=now, grace_s=0)
    assert done["n8n_removed"] == [orphan]
    assert sorted(done["drafts_removed"]) == [draft, failed]
    assert not exists(client, orphan)
    for kept in (foreign, locked_copy):
        assert exists(client, kept)
        client.delete_workflow(kept)
    with session_factory() as s:
        left = {w.id: w for w in s.scalars(select(Workflow))}
    assert set(left) == {deployed, locked_record, waiting}
    assert exists(client, str(left[deployed].n8n_workflow_id))
    client.delete_workflow(str(left[deployed].n8n_workflow_id))


def test_reconcile_is_a_default_job_when_n8n_is_configured() -> None:
    settings = Settings(n8n_url="http://127.0.0.1:5678", n8n_api_key="k", reconcile_interval_s=321)
    assert RECONCILE in default_jobs(settings)
    assert job_schedules(settings)[RECONCILE].interval_s == 321
