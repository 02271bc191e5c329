"""A workflow's life around its versions: the record is created (a draft) and deployed whole or
not at all, an earlier version is rolled back to (as a new head), the workflow is deactivated or
deleted (history kept), and a deleted one is restored by a project owner (its last deployed
version deployed again on a new n8n workflow).

Nothing half-made: a draft whose first deploy never succeeded is not left listed as an empty
workflow — `deploy_new_workflow` removes it when that deploy fails, and the pipeline calls
`discard_draft` when a run that created one fails before deploying it.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from core.deploy.errors import ReviewPending
from core.deploy.gate import unreserved_name
from core.deploy.lock import LOCK_WAIT_S, workflow_lock
from core.deploy.publish import SayLine
from core.deploy.versions import authorized, deploy_version, replay
from core.deploy.workflows import get_version
from core.kernel.errors import InvalidInput, NotFound
from core.kernel.models import Project, Workflow, WorkflowVersion
from core.kernel.settings import Settings
from core.kernel.vocabulary import Role, VersionSource, VersionStatus, WorkflowStatus
from core.n8n import N8nClient, N8nError, N8nNotFound
from core.n8n.workflow_json import N8nWorkflow
from core.triggers import drop_endpoint, unsubscribe
from core.workspace.projects import Actor, require_role

log = logging.getLogger(__name__)

# n8n 2.x: a delete right after deactivation can answer 500 / "still being unpublished".
DELETE_SETTLE_S = 15.0


def create_workflow_record(
    *,
    session: Session,
    project_id: int,
    name: str,
    created_by: str,
    slack_channel_id: str | None = None,
    slack_thread_ts: str | None = None,
    description: str | None = None,
) -> Workflow:
    """A new workflow (status `draft`, no versions yet) in the project. A name starting with the
    test copies' prefix loses it (`gate.unreserved_name`): that prefix marks test copies in n8n."""
    name = unreserved_name(name) if name.strip() else ""
    if not name or len(name) > 200:
        raise InvalidInput("A workflow name needs 1 to 200 characters.")
    if session.get(Project, project_id) is None:
        raise NotFound("That project does not exist.")
    wf = Workflow(
        project_id=project_id,
        name=name,
        description=description,
        created_by=created_by,
        slack_channel_id=slack_channel_id,
        slack_thread_ts=slack_thread_ts,
        status=WorkflowStatus.draft,
        head_version=0,
    )
    session.add(wf)
    session.flush()
    return wf


def deploy_new_workflow(
    *,
    session_factory: sessionmaker[Session],
    n8n: N8nClient,
    project_id: int,
    name: str,
    json_payload: Mapping[str, Any] | N8nWorkflow,
    source: VersionSource,
    actor: Actor,
    description: str | None = None,
    prompt: str | None = None,
    progress: SayLine | None = None,
    settings: Settings,
) -> WorkflowVersion:
    """Create a workflow named `name` in the project and deploy `json_payload` as its v1.

    All or nothing: when the deploy raises (ValidationFailed, QuotaExceeded, PermissionDenied,
    DeployFailed, …) the new record and whatever n8n workflow the attempt created are removed
    before the error reaches the caller, so no empty draft is left listed.
    """
    with session_factory.begin() as session:
        workflow_id = create_workflow_record(
            session=session,
            project_id=project_id,
            name=name,
            description=description,
            created_by=actor.user_id,
        ).id
    try:
        return deploy_version(
            session_factory=session_factory,
            n8n=n8n,
            workflow_id=workflow_id,
            json_payload=json_payload,
            source=source,
            actor=actor,
            prompt=prompt,
            progress=progress,
            settings=settings,
            expected_head=0,
        )
    except ReviewPending:
        raise  # the new workflow waits for an owner: its record and v1 stay for the decision
    except BaseException:
        try:
            discard_draft(session_factory=session_factory, n8n=n8n, workflow_id=workflow_id)
        except Exception:  # the deploy's own error is the one the caller must see
            log.warning("could not discard the draft workflow %s", workflow_id, exc_info=True)
        raise


def discard_draft(
    *,
    session_factory: sessionmaker[Session],
    n8n: N8nClient,
    workflow_id: int,
    include_hidden: bool = False,
    lock_wait_s: float = LOCK_WAIT_S,
) -> bool:
    """Remove a workflow that never had a version deployed; True if it was removed.

    Its record goes with its failed or pending versions (runs that worked on it keep their own
    record, unlinked), and the inactive n8n workflow a refused first deploy may have created is
    deleted. When n8n cannot delete that one now, the record is hidden (status `deleted`) and
    keeps the n8n id instead; `include_hidden` tries such a hidden record again (reconciliation).
    A workflow with a deployed version is never touched (False). DeployBusy when a deploy of it
    holds its lock past `lock_wait_s`.
    """
    with workflow_lock(session_factory, workflow_id, wait_s=lock_wait_s):
        with session_factory.begin() as session:
            wf = session.get(Workflow, workflow_id)
            if wf is None or wf.head_version > 0:
                return False
            hidden = wf.status == WorkflowStatus.deleted
            if hidden and not include_hidden:
                return False
            n8n_id = wf.n8n_workflow_id
        if n8n_id is not None:
            try:
                n8n.delete_workflow(n8n_id, settle_s=DELETE_SETTLE_S)
            except N8nError as e:
                log.warning("draft %s: n8n workflow %s not deleted (%s)", workflow_id, n8n_id, e)
                if hidden:
                    return False  # still hidden; tried again next time
                with session_factory.begin() as session:
                    hiding = session.execute(
                        update(Workflow)
                        .where(Workflow.id == workflow_id, Workflow.head_version == 0)
                        .values(status=WorkflowStatus.deleted)
                        .execution_options(synchronize_session=False)
                    )
                    return bool(getattr(hiding, "rowcount", 0))
        # A first deploy that failed after its Slack trigger's credential was made leaves it.
        drop_endpoint(session_factory=session_factory, n8n=n8n, workflow_id=workflow_id)
        with session_factory.begin() as session:
            # Under the deploy lock nothing deploys it meanwhile; the condition says so again.
            gone = session.execute(
                delete(Workflow)
                .where(Workflow.id == workflow_id, Workflow.head_version == 0)
                .execution_options(synchronize_session=False)
            )
            # Its versions go with it and runs keep their own record, unlinked (foreign keys).
            if not getattr(gone, "rowcount", 0):
                return False
    return True


def rollback_to(
    *,
    session_factory: sessionmaker[Session],
    n8n: N8nClient,
    workflow_id: int,
    version: int,
    actor: Actor,
    idempotency_key: str | None = None,
    progress: SayLine | None = None,
    settings: Settings,
) -> WorkflowVersion:
    """Redeploy version `version`'s JSON as a new head version (source `rollback`) on the same n8n
    workflow and return it. History stays linear: nothing is rewritten or removed.

    Raises InvalidInput for the current head or a version that never deployed. A repeated
    `idempotency_key` (double click, Slack retry) returns the first rollback's version.
    """
    # deploy_version stores the key as "deploy:<key>"; checking it here too skips the work early.
    key = f"rollback:{idempotency_key}" if idempotency_key else None
    if key and (earlier := replay(session_factory, f"deploy:{key}")) is not None:
        return earlier
    with session_factory.begin() as session:
        wf = authorized(session, workflow_id, actor)
        target = get_version(session=session, workflow_id=workflow_id, version=version)
        if version == wf.head_version:
            raise InvalidInput(f"v{version} is already the running version; nothing to roll back.")
        if target.status not in (VersionStatus.deployed, VersionStatus.superseded):
            raise InvalidInput(
                f"v{version} never ran ({target.status}); roll back to a version that was deployed."
            )
        payload = dict(target.json_payload)
    return deploy_version(
        session_factory=session_factory,
        n8n=n8n,
        workflow_id=workflow_id,
        json_payload=payload,
        source=VersionSource.rollback,
        actor=actor,
        rolled_back_from=version,
        idempotency_key=key,
        progress=progress,
        settings=settings,
    )


def deactivate_workflow(
    *, session_factory: sessionmaker[Session], n8n: N8nClient, workflow_id: int, actor: Actor
) -> Workflow:
    """Stop the workflow in n8n (it keeps its versions and can be redeployed)."""
    with workflow_lock(session_factory, workflow_id):
        with session_factory.begin() as session:
            wf = authorized(session, workflow_id, actor)
            n8n_id = wf.n8n_workflow_id
        if n8n_id is not None:
            with contextlib.suppress(N8nNotFound):
                n8n.deactivate(n8n_id)
        with session_factory.begin() as session:
            wf = authorized(session, workflow_id, actor)
            if wf.status != WorkflowStatus.deleted:
                wf.status = WorkflowStatus.inactive
            unsubscribe(session, workflow_id)
            return wf


def delete_workflow(
    *, session_factory: sessionmaker[Session], n8n: N8nClient, workflow_id: int, actor: Actor
) -> Workflow:
    """Remove the workflow from n8n (deactivating it first) and mark it `deleted` here; its
    version history is kept."""
    with workflow_lock(session_factory, workflow_id):
        with session_factory.begin() as session:
            wf = authorized(session, workflow_id, actor)
            n8n_id = wf.n8n_workflow_id
        if n8n_id is not None:
            n8n.delete_workflow(n8n_id, settle_s=DELETE_SETTLE_S)
        with session_factory.begin() as session:
            wf = authorized(session, workflow_id, actor)
            wf.status = WorkflowStatus.deleted
            unsubscribe(session, workflow_id)
        drop_endpoint(session_factory=session_factory, n8n=n8n, workflow_id=workflow_id)
        with session_factory.begin() as session:
            return authorized(session, workflow_id, actor)


def restore_workflow(
    *,
    session_factory: sessionmaker[Session],
    n8n: N8nClient,
    workflow_id: int,
    actor: Actor,
    settings: Settings,
    progress: SayLine | None = None,
) -> WorkflowVersion:
    """Bring a deleted workflow back: its last deployed version is deployed again as a new
    version (source `rollback` of that version) on a new n8n workflow, active. Project owners
    only (PermissionDenied otherwise); InvalidInput for a workflow that is not deleted or never
    ran. When n8n refuses or does not answer, the workflow stays deleted (and restorable) and
    DeployFailed says why; the failed attempt is listed in its versions."""
    with session_factory.begin() as session:
        wf = session.get(Workflow, workflow_id)
        if wf is None:
            raise NotFound(f"There is no workflow #{workflow_id}.")
        require_role(
            session=session,
            project_id=wf.project_id,
            team_id=actor.team_id,
            user_id=actor.user_id,
            at_least=Role.owner,
        )
        if wf.status != WorkflowStatus.deleted:
            raise InvalidInput(f"Workflow #{wf.id} {wf.name!r} is not deleted; nothing to restore.")
        last = session.scalar(
            select(WorkflowVersion)
            .where(
                WorkflowVersion.workflow_id == workflow_id,
                WorkflowVersion.status.in_((VersionStatus.deployed, VersionStatus.superseded)),
            )
            .order_by(WorkflowVersion.version.desc())
            .limit(1)
        )
        if last is None:
            raise InvalidInput(
                f"Workflow #{wf.id} {wf.name!r} never ran in n8n: there is no version to restore."
            )
        payload, from_version = dict(last.json_payload), last.version
        # The n8n workflow it had is gone: the deploy creates a new one.
        wf.status, wf.n8n_workflow_id = WorkflowStatus.inactive, None
    try:
        return deploy_version(
            session_factory=session_factory,
            n8n=n8n,
            workflow_id=workflow_id,
            json_payload=payload,
            source=VersionSource.rollback,
            actor=actor,
            rolled_back_from=from_version,
            progress=progress,
            settings=settings,
            # An owner's own act (owners only), bringing back what ran: not a new version to
            # review.
            review=False,
        )
    except BaseException:
        with session_factory.begin() as session:
            back = session.get(Workflow, workflow_id)
            if back is not None and back.n8n_workflow_id is None:
                back.status = WorkflowStatus.deleted
        raise
