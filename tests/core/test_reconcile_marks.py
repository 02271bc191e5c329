"""Reconciliation deletes only what Clixen itself sent: a Clixen mark copied onto another n8n
workflow (by hand, or by duplicating a deployed workflow in n8n) gets nothing deleted. Real n8n
(shared: reconcile only looks at marks of this test database's site) and Postgres."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from core.deploy import create_workflow_record, deploy_version
from core.deploy.marker import MARK_KEY, DeployMark, mark_of, site_of
from core.deploy.reconcile import reconcile
from core.kernel.models import DeployAttempt, Workflow
from core.kernel.settings import get_settings
from core.n8n import N8nClient, N8nNotFound
from core.workspace.projects import Actor
from tests.builders import new_project
from tests.workflows import labelled_schedule

OWNER = Actor("T1", "U1")


def exists(client: N8nClient, n8n_id: str) -> bool:
    try:
        client.get_workflow(n8n_id)
    except N8nNotFound:
        return False
    return True


def test_a_copied_clixen_mark_gets_no_foreign_workflow_deleted(
    n8n_client: N8nClient, session_factory: sessionmaker[Session]
) -> None:
    project_id = new_project(session_factory, team_id=OWNER.team_id, user_id=OWNER.user_id)
    with session_factory.begin() as s:
        deployed = create_workflow_record(
            session=s, project_id=project_id, name="deployed", created_by=OWNER.user_id
        ).id
        lost = create_workflow_record(
            session=s, project_id=project_id, name="lost", created_by=OWNER.user_id
        ).id
    deploy_version(
        session_factory=session_factory, n8n=n8n_client, workflow_id=deployed,
        json_payload=labelled_schedule("live"), source="import", actor=OWNER,
        settings=get_settings(),
    )  # fmt: skip
    with session_factory() as s:
        deployed_n8n = str(s.get(Workflow, deployed).n8n_workflow_id)  # type: ignore[union-attr]
    real_mark = mark_of(n8n_client.get_workflow(deployed_n8n))
    assert real_mark is not None

    def foreign(mark: DeployMark | dict[str, Any], label: str) -> str:
        """Someone's own workflow in n8n that carries a Clixen mark."""
        payload = labelled_schedule(label, name=f"someone's {label}")
        if isinstance(mark, DeployMark):
            payload = mark.on(payload)
        else:
            payload["staticData"] = {MARK_KEY: mark}
        return str(n8n_client.create_workflow(payload)["id"])

    site = site_of(session_factory)
    copied = foreign(real_mark, "duplicate of a deployed workflow")
    made_up = foreign(
        {"site": site, "workflow": lost, "version": 1, "deploy": uuid.uuid4().hex}, "made-up mark"
    )
    # A create Clixen sent and never heard back from (the leftover), then a copy of its mark.
    leftover_mark = DeployMark.new(site, lost, 1)
    with session_factory.begin() as s:
        s.add(DeployAttempt(deploy=leftover_mark.deploy, workflow_id=lost, version=1))
    leftover = str(n8n_client.create_workflow(leftover_mark.on(labelled_schedule("left")))["id"])
    copy_of_leftover = foreign(leftover_mark, "copy of a leftover")

    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    try:
        done = reconcile(session_factory=session_factory, n8n=n8n_client, now=later, grace_s=0)
        assert done["n8n_removed"] == [leftover]
        assert not exists(n8n_client, leftover)
        for kept in (deployed_n8n, copied, made_up, copy_of_leftover):
            assert exists(n8n_client, kept), kept
        again = reconcile(session_factory=session_factory, n8n=n8n_client, now=later, grace_s=0)
        assert again["n8n_removed"] == []
    finally:
        for n8n_id in (deployed_n8n, copied, made_up, leftover, copy_of_leftover):
            n8n_client.delete_workflow(n8n_id)  # deactivates first; gone already is fine
