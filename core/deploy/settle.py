"""Phase 3 of a deploy, one short transaction: the version `deployed` (the old head
`superseded`), or `failed` with n8n's message, the deploy quota refunded and telemetry recorded."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.deploy.publish import restore
from core.deploy.workflows import get_version, head_version
from core.kernel import telemetry
from core.kernel.models import ProcessedAction, Workflow, WorkflowVersion, utcnow
from core.kernel.vocabulary import VersionSource, VersionStatus, WorkflowStatus
from core.n8n import N8nClient
from core.triggers import compiled_head
from core.workspace import quotas
from core.workspace.projects import Actor


def succeed(
    *,
    session_factory: sessionmaker[Session],
    version: WorkflowVersion,
    n8n_id: str,
    actor: Actor,
    key: str | None,
    also: Callable[[Session], None] | None = None,
) -> WorkflowVersion:
    """Version `version` deployed as the workflow's head, in one transaction with `also`."""
    with session_factory.begin() as session:
        wf = session.execute(
            select(Workflow).where(Workflow.id == version.workflow_id).with_for_update()
        ).scalar_one()
        row = get_version(session=session, workflow_id=wf.id, version=version.version)
        first = wf.head_version == 0
        if wf.head_version:
            previous = get_version(session=session, workflow_id=wf.id, version=wf.head_version)
            previous.status = VersionStatus.superseded
        row.status = VersionStatus.deployed
        row.deployed_at = utcnow()
        row.error = None
        wf.head_version = row.version
        wf.status = WorkflowStatus.active
        wf.n8n_workflow_id = n8n_id
        common: dict[str, Any] = {
            "session": session,
            "team_id": actor.team_id,
            "user_id": actor.user_id,
            "project_id": wf.project_id,
            "workflow_id": wf.id,
        }
        props = {"version": row.version, "source": row.source}
        if first:
            telemetry.record(type=telemetry.WORKFLOW_CREATED, properties=props, **common)
        if row.source == VersionSource.rollback:
            telemetry.record(type=telemetry.ROLLED_BACK, properties=props, **common)
        else:
            telemetry.record(type=telemetry.DEPLOYED, properties=props, **common)
        if key:
            session.add(
                ProcessedAction(key=key, result={"workflow_id": wf.id, "version": row.version})
            )
        if also is not None:
            also(session)
        session.flush()
        return row


def fail(
    *,
    session_factory: sessionmaker[Session],
    n8n: N8nClient,
    version: WorkflowVersion,
    actor: Actor,
    reserved_at: dt.datetime,
    message: str,
    category: str = "n8n_rejected",
    restore_head: bool = True,
) -> None:
    with session_factory.begin() as session:
        wf = session.execute(
            select(Workflow).where(Workflow.id == version.workflow_id).with_for_update()
        ).scalar_one()
        row = get_version(session=session, workflow_id=wf.id, version=version.version)
        row.status = VersionStatus.failed
        row.error = message[:4000]
        if wf.head_version == 0:
            wf.status = WorkflowStatus.failed
        if version.source != VersionSource.rollback:
            quotas.refund_deploy(
                session=session,
                team_id=actor.team_id,
                user_id=actor.user_id,
                project_id=wf.project_id,
                now=reserved_at,
            )
        telemetry.record(
            session=session,
            type=telemetry.ERROR,
            category=category,
            team_id=actor.team_id,
            user_id=actor.user_id,
            project_id=wf.project_id,
            workflow_id=wf.id,
            properties={"version": row.version, "source": row.source},
        )
        head = head_version(session=session, workflow_id=wf.id)
        n8n_id = wf.n8n_workflow_id
        good = compiled_head(session, wf.id, head.json_payload) if head is not None else None
    if restore_head and good is not None and n8n_id is not None:
        restore(n8n, n8n_id, good)
