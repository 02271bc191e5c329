"""Review before live: with the project's setting on, a new version (create, edit, rollback,
automatic repair) passes every guard of a deploy and is stored as `awaiting_review` with a
`VersionReview` instead of being sent to n8n; an owner's approval deploys exactly that stored
version (`core.deploy.versions.deploy_reviewed`), a rejection leaves live untouched.

This module holds the rows' rules, each a function of an open session: whether the project
reviews, opening a request (once per workflow and payload), reading one for a decision.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.deploy.workflows import get_version
from core.kernel import telemetry
from core.kernel.errors import InvalidInput, NotFound
from core.kernel.models import Project, VersionReview, Workflow, WorkflowVersion, utcnow
from core.kernel.vocabulary import ReviewState, Role, VersionSource, VersionStatus, WorkflowStatus
from core.workspace import quotas
from core.workspace.projects import Actor, require_role


def review_required(session: Session, project_id: int) -> bool:
    """Whether the project's new versions wait for an owner's approval."""
    project = session.get(Project, project_id)
    return bool(project is not None and project.review_before_live)


def open_request(session: Session, wf: Workflow, checksum: str) -> VersionReview | None:
    """The pending request for this same payload of the workflow, if one is open (a retried
    run, a second click): asking twice makes one request."""
    return session.scalar(
        select(VersionReview).where(
            VersionReview.workflow_id == wf.id,
            VersionReview.checksum == checksum,
            VersionReview.state == ReviewState.pending,
        )
    )


def request_review(
    session: Session, wf: Workflow, version: WorkflowVersion, actor: Actor
) -> VersionReview:
    """Store `version` as waiting for review (flushed: it has its id)."""
    version.status = VersionStatus.awaiting_review
    review = VersionReview(
        project_id=wf.project_id,
        team_id=actor.team_id,
        workflow_id=wf.id,
        version=version.version,
        checksum=version.checksum,
        source=version.source,
        base_version=wf.head_version,
        requested_by=actor.user_id,
        requested_at=utcnow(),
        state=ReviewState.pending,
    )
    session.add(review)
    session.flush()
    _told(session, review, telemetry.REVIEW_REQUESTED, actor)
    return review


def _told(session: Session, review: VersionReview, kind: str, actor: Actor) -> None:
    telemetry.record(
        session=session,
        type=kind,
        team_id=review.team_id,
        user_id=actor.user_id,
        project_id=review.project_id,
        workflow_id=review.workflow_id,
        properties={"version": review.version, "source": review.source, "review": review.id},
    )


# The largest id a review can have (a BIGINT): an id beyond it is no review's, answered without
# a query (Postgres would refuse it as out of range).
_MAX_REVIEW_ID = 2**63 - 1


def possible_review_id(review_id: int) -> int:
    """`review_id` when some review could have it; NotFound (short, the number not echoed)
    for an id below 1 or past BIGINT — a forged button's or a mistyped command's."""
    if not 1 <= review_id <= _MAX_REVIEW_ID:
        raise NotFound("There is no review with that id in this workspace.")
    return review_id


def review_for_decision(session: Session, review_id: int, actor: Actor) -> VersionReview:
    """The pending review `review_id` of the actor's workspace, locked for the decision.
    NotFound for an id of another workspace or none (a forged button learns nothing);
    PermissionDenied for anyone but an owner of its project; InvalidInput when it was already
    decided (by whom, when)."""
    possible_review_id(review_id)
    review = session.scalar(
        select(VersionReview)
        .where(VersionReview.id == review_id, VersionReview.team_id == actor.team_id)
        .with_for_update()
    )
    if review is None:
        raise NotFound(f"There is no review #{review_id} in this workspace.")
    # Owners only: an editor's or viewer's click is refused before anything else is said.
    require_role(
        session=session,
        project_id=review.project_id,
        team_id=actor.team_id,
        user_id=actor.user_id,
        at_least=Role.owner,
    )
    if review.state != ReviewState.pending:
        when = f" at {review.decided_at:%Y-%m-%d %H:%M} UTC" if review.decided_at else ""
        who = f" by {review.decided_by}" if review.decided_by else ""
        raise InvalidInput(
            f"Review #{review.id} (v{review.version}) was already {review.state}{who}{when}; "
            "nothing was changed."
        )
    return review


def decide(
    session: Session,
    review: VersionReview,
    state: ReviewState,
    actor: Actor,
    reason: str | None = None,
) -> None:
    """Record the decision on the review (who, when, why) and its telemetry event. A request
    that is not approved gives the requester back the deploy it reserved (rollbacks reserve
    none), and its version is `rejected`; a new workflow that never went live is then marked
    deleted (listed with `--deleted`, its history kept)."""
    review.state = state
    review.decided_by = actor.user_id
    review.decided_at = utcnow()
    review.reason = " ".join((reason or "").split())[:300] or None
    if state == ReviewState.approved:
        _told(session, review, telemetry.REVIEW_APPROVED, actor)
        return
    version = get_version(session=session, workflow_id=review.workflow_id, version=review.version)
    version.status = VersionStatus.rejected
    wf = session.get(Workflow, review.workflow_id)
    if wf is not None and wf.head_version == 0 and wf.status == WorkflowStatus.draft:
        # A new workflow that never went live: out of the lists, its history (and this trail)
        # kept; reconciliation removes only drafts, so the record stays.
        wf.status = WorkflowStatus.deleted
    version.error = f"{state} by {actor.user_id}" + (f": {review.reason}" if review.reason else "")
    if review.source != VersionSource.rollback:
        quotas.refund_deploy(
            session=session,
            team_id=review.team_id,
            user_id=review.requested_by,
            project_id=review.project_id,
            now=review.requested_at,
        )
    if state == ReviewState.rejected:
        _told(session, review, telemetry.REVIEW_REJECTED, actor)
