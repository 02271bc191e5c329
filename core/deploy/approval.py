"""An owner's approval of a version waiting for review (review before live): exactly the stored
version the request showed is deployed — its digest checked, every guard passed again under
today's policy, never over a version that went live after the request — through the same
publish phases as any deploy (`core.deploy.versions`), under the workflow's deploy lock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.catalog import NodeCatalog
from core.deploy.errors import HeadMoved
from core.deploy.gate import check
from core.deploy.lock import workflow_lock
from core.deploy.publish import SayLine
from core.deploy.review import decide, review_for_decision
from core.deploy.versions import head_moved, prepare_trigger, publish_stored
from core.deploy.workflows import get_version
from core.kernel.errors import InvalidInput
from core.kernel.models import VersionReview, Workflow, WorkflowVersion
from core.kernel.settings import Settings
from core.kernel.vocabulary import ReviewState, VersionStatus, WorkflowStatus
from core.n8n import N8nClient
from core.n8n.workflow_json import checksum
from core.workspace.projects import Actor


def _quiet(_: str) -> None:
    pass


def deploy_reviewed(
    *,
    session_factory: sessionmaker[Session],
    n8n: N8nClient,
    review_id: int,
    actor: Actor,
    settings: Settings,
    reason: str | None = None,
    progress: SayLine | None = None,
    catalog: NodeCatalog | None = None,
) -> WorkflowVersion:
    """An owner's approval: deploy exactly the stored version review `review_id` showed (its
    payload's digest checked), never a later one, and return it `deployed`.

    Owners of the review's project in the actor's workspace only (PermissionDenied; another
    workspace's or a missing id: NotFound; a decided one: InvalidInput). The stored payload
    passes the gate again under today's policy (ValidationFailed leaves the request open).
    When live moved on since the request (another approval, a rollback), deploying it would
    silently undo that: the request is closed as `outdated`, nothing is deployed, and
    HeadMoved says which version is live. n8n refusing it: DeployFailed, the request `failed`.
    The deploy counts as the requester's (their quota was reserved at the request)."""
    say = progress or _quiet
    with session_factory.begin() as session:
        workflow_id = review_for_decision(session, review_id, actor).workflow_id
    with workflow_lock(session_factory, workflow_id), n8n.deadline(settings.n8n_deadline_s):
        approved = _approve(
            session_factory, review_id, workflow_id, actor, reason=reason, say=say, catalog=catalog
        )
        trigger = prepare_trigger(session_factory, workflow_id, approved.payload, actor, settings)
        try:
            return publish_stored(
                session_factory,
                n8n,
                trigger=trigger,
                version=approved.version,
                payload=approved.payload,
                n8n_id=approved.n8n_id,
                actor=approved.requester,
                reserved_at=approved.reserved_at,
                key=None,
                say=say,
                deadline_s=settings.n8n_deadline_s,
            )
        except BaseException:
            _mark_failed(session_factory, review_id)
            raise


@dataclass(frozen=True)
class _Approved:
    """What an approval hands to the publish phases: the version and the requester's deploy."""

    version: WorkflowVersion
    payload: dict[str, Any]
    n8n_id: str | None
    requester: Actor
    reserved_at: datetime


def _approve(
    session_factory: sessionmaker[Session],
    review_id: int,
    workflow_id: int,
    actor: Actor,
    *,
    reason: str | None,
    say: SayLine,
    catalog: NodeCatalog | None,
) -> _Approved:
    """One transaction under the deploy lock: the request approved and its version `pending`,
    after every guard again; or, when live moved on since the request, the request closed
    `outdated` (committed) and HeadMoved raised."""
    moved: HeadMoved | None = None
    with session_factory.begin() as session:
        review = review_for_decision(session, review_id, actor)
        wf, version = _unchanged_request(session, review, workflow_id)
        if wf.head_version != review.base_version:
            moved = head_moved(session, wf, review.base_version)
            decide(
                session,
                review,
                ReviewState.outdated,
                actor,
                reason=f"live moved from v{review.base_version} to v{wf.head_version}",
            )
        else:
            payload = dict(version.json_payload)
            # Every guard again, under the project's policy of today (it may have changed).
            check(
                session=session,
                project_id=wf.project_id,
                payload=payload,
                say=say,
                catalog=catalog,
            )
            decide(session, review, ReviewState.approved, actor, reason=reason)
            version.status = VersionStatus.pending
            approved = _Approved(
                version=version,
                payload=payload,
                n8n_id=wf.n8n_workflow_id,
                requester=Actor(review.team_id, review.requested_by),
                reserved_at=review.requested_at,
            )
    if moved is not None:
        raise moved
    return approved


def _unchanged_request(
    session: Session, review: VersionReview, workflow_id: int
) -> tuple[Workflow, WorkflowVersion]:
    """The workflow (row locked) and the stored version the request showed; InvalidInput when
    the workflow was deleted or the version's payload no longer matches the request's digest."""
    wf = session.execute(
        select(Workflow).where(Workflow.id == workflow_id).with_for_update()
    ).scalar_one()
    version = get_version(session=session, workflow_id=wf.id, version=review.version)
    if wf.status == WorkflowStatus.deleted:
        raise InvalidInput(f"Workflow {wf.name!r} was deleted; reject this request.")
    if version.checksum != review.checksum or checksum(version.json_payload) != review.checksum:
        raise InvalidInput(
            f"v{version.version} no longer matches what review #{review.id} showed; "
            "nothing was deployed."
        )
    return wf, version


def _mark_failed(session_factory: sessionmaker[Session], review_id: int) -> None:
    """An approved request whose deploy did not go through is `failed`."""
    with session_factory.begin() as session:
        failed = session.get(VersionReview, review_id)
        if failed is not None:
            failed.state = ReviewState.failed
