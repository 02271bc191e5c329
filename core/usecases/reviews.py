"""Review before live, as people use it: an owner turns the project's setting on or off; with
it on, every new version (create, edit, rollback, automatic repair) waits for an owner
(`core.deploy.review`), who sees the request (`core.scheduler.reviews.ReviewRequest`) and
approves it — exactly the version shown is deployed — or rejects it, live untouched. Every
request keeps who asked, who decided, when and why: the audit trail the versions view, the CLI
and telemetry show.

Only the project's owners decide, in the workspace the request belongs to: the id a button or
a command carries is re-authorized here, so an editor's click, another workspace's id, a
missing one or one already decided is refused with what happened.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.deploy import DeployFailed, HeadMoved, deploy_reviewed
from core.deploy.publish import SayLine
from core.deploy.review import decide, possible_review_id, review_for_decision
from core.kernel.errors import InvalidInput, NotFound, SettingsError
from core.kernel.models import VersionReview, Workflow
from core.kernel.settings import Settings
from core.kernel.vocabulary import ReviewState, Role
from core.n8n import N8nClient
from core.scheduler.reviews import ReviewRequest, announce_reviews, review_request
from core.usecases.projects import ProjectRef, project_named
from core.workspace.projects import Actor, require_role


@dataclass(frozen=True)
class ReviewSetting:
    """Whether project `project` reviews new versions before they go live."""

    project: str
    on: bool


def set_review(
    session_factory: sessionmaker[Session], *, actor: Actor, project: ProjectRef, on: bool
) -> ReviewSetting:
    """Turn review before live on or off for the project (owners only). Turning it off decides
    nothing: requests already waiting stay for an owner."""
    with session_factory.begin() as session:
        found = project_named(session, actor=actor, name=project, at_least=Role.owner)
        found.review_before_live = on
        return ReviewSetting(found.name, on)


def review_setting(
    session_factory: sessionmaker[Session], *, actor: Actor, project: ProjectRef
) -> ReviewSetting:
    """The project's setting, for any member."""
    with session_factory.begin() as session:
        found = project_named(session, actor=actor, name=project, at_least=Role.viewer)
        return ReviewSetting(found.name, bool(found.review_before_live))


@dataclass(frozen=True)
class ReviewOverview:
    """The project's setting and its requests, newest first."""

    setting: ReviewSetting
    reviews: list[ReviewRow]


def review_overview(
    session_factory: sessionmaker[Session],
    *,
    actor: Actor,
    project: ProjectRef = None,
    pending_only: bool = False,
) -> ReviewOverview:
    """The setting and the requests of the project (any member)."""
    return ReviewOverview(
        review_setting(session_factory, actor=actor, project=project),
        list_reviews(session_factory, actor=actor, project=project, pending_only=pending_only),
    )


@dataclass(frozen=True)
class ReviewRow:
    """One request and its decision (the audit trail)."""

    review_id: int
    workflow_id: int
    name: str
    version: int
    source: str
    state: ReviewState
    requested_by: str
    requested_at: dt.datetime
    decided_by: str | None
    decided_at: dt.datetime | None
    reason: str | None
    base_version: int


def _row(review: VersionReview, name: str) -> ReviewRow:
    return ReviewRow(
        review_id=review.id,
        workflow_id=review.workflow_id,
        name=name,
        version=review.version,
        source=review.source,
        state=ReviewState(review.state),
        requested_by=review.requested_by,
        requested_at=review.requested_at,
        decided_by=review.decided_by,
        decided_at=review.decided_at,
        reason=review.reason,
        base_version=review.base_version,
    )


def list_reviews(
    session_factory: sessionmaker[Session],
    *,
    actor: Actor,
    project: ProjectRef = None,
    pending_only: bool = False,
    limit: int = 50,
) -> list[ReviewRow]:
    """The project's review requests, newest first (any member sees them)."""
    with session_factory.begin() as session:
        found = project_named(session, actor=actor, name=project, at_least=Role.viewer)
        query = (
            select(VersionReview, Workflow.name)
            .join(Workflow, Workflow.id == VersionReview.workflow_id)
            .where(VersionReview.project_id == found.id)
        )
        if pending_only:
            query = query.where(VersionReview.state == ReviewState.pending)
        rows = session.execute(query.order_by(VersionReview.id.desc()).limit(limit)).all()
        return [_row(review, name) for review, name in rows]


def workflow_reviews(session: Session, workflow_id: int) -> list[ReviewRow]:
    """A workflow's requests, oldest first (its versions view; the caller checked access)."""
    wf = session.get(Workflow, workflow_id)
    name = wf.name if wf is not None else ""
    return [
        _row(review, name)
        for review in session.scalars(
            select(VersionReview)
            .where(VersionReview.workflow_id == workflow_id)
            .order_by(VersionReview.id)
        )
    ]


def show_review(
    session_factory: sessionmaker[Session],
    *,
    n8n: N8nClient | None,
    settings: Settings,
    actor: Actor,
    review_id: int,
) -> ReviewRequest:
    """The request as its owners see it (any member of its project; another workspace's id is
    NotFound)."""
    with session_factory.begin() as session:
        review = session.get(VersionReview, possible_review_id(review_id))
        if review is None or review.team_id != actor.team_id:
            raise NotFound(f"There is no review #{review_id} in this workspace.")
        require_role(
            session=session,
            project_id=review.project_id,
            team_id=actor.team_id,
            user_id=actor.user_id,
            at_least=Role.viewer,
        )
    return review_request(session_factory, n8n=n8n, settings=settings, review_id=review_id)


def announce(
    session_factory: sessionmaker[Session],
    *,
    n8n: N8nClient | None,
    settings: Settings,
    review_id: int,
    show: Callable[[ReviewRequest], None],
) -> bool:
    """Show the owners request `review_id` (one core just made for the actor's create, edit or
    rollback), unless it was shown already; whether it was shown now."""
    return bool(
        announce_reviews(
            session_factory, n8n=n8n, settings=settings, show=show, review_id=review_id
        )
    )


@dataclass(frozen=True)
class ReviewDecision:
    """A decision made (or refused by what happened meanwhile): `state` approved (deployed),
    rejected, outdated (live moved on: nothing deployed) or failed (n8n refused it); `note`
    says why for the last two. `channel`/`thread_ts`: the workflow's thread, where the
    requester is told."""

    review_id: int
    workflow_id: int
    name: str
    version: int
    state: ReviewState
    decided_by: str
    requested_by: str
    reason: str | None
    live_version: int
    channel: str | None
    thread_ts: str | None
    note: str = ""


def _decision(
    session_factory: sessionmaker[Session], review_id: int, actor: Actor, note: str = ""
) -> ReviewDecision:
    with session_factory.begin() as session:
        review = session.get(VersionReview, review_id)
        assert review is not None
        wf = session.get(Workflow, review.workflow_id)
        assert wf is not None
        return ReviewDecision(
            review_id=review.id,
            workflow_id=wf.id,
            name=wf.name,
            version=review.version,
            state=ReviewState(review.state),
            decided_by=review.decided_by or actor.user_id,
            requested_by=review.requested_by,
            reason=review.reason,
            live_version=wf.head_version,
            channel=wf.slack_channel_id,
            thread_ts=wf.slack_thread_ts,
            note=note,
        )


def approve(
    session_factory: sessionmaker[Session],
    *,
    n8n: N8nClient | None,
    settings: Settings,
    actor: Actor,
    review_id: int,
    digest: str | None = None,
    reason: str | None = None,
    progress: SayLine | None = None,
) -> ReviewDecision:
    """Approve request `review_id` (owners of its project only) and deploy exactly the version
    it showed. `digest`: the start of the payload digest the approver was shown (a button's,
    a command's): when it is not this request's, nothing is done. Live moved on since the
    request: nothing is deployed and the request is closed `outdated` (deploying it would undo
    the newer version); n8n refusing it: `failed` with n8n's words."""
    with session_factory.begin() as session:
        review = review_for_decision(session, review_id, actor)
        if digest is not None and (len(digest) < 8 or not review.checksum.startswith(digest)):
            shown = digest if len(digest) <= 64 else digest[:12] + "…"
            raise InvalidInput(
                f"Review #{review_id} does not show version digest {shown!r}; nothing was "
                "deployed. Open the request again and approve what it shows."
            )
    if n8n is None:
        raise SettingsError(["N8N_URL and N8N_API_KEY are needed to deploy an approved version."])
    try:
        deploy_reviewed(
            session_factory=session_factory,
            n8n=n8n,
            review_id=review_id,
            actor=actor,
            settings=settings,
            reason=reason,
            progress=progress,
        )
    except HeadMoved as e:
        return _decision(
            session_factory,
            review_id,
            actor,
            note=f"{e.head_label} went live after this was asked (from v{e.expected}); "
            "approving it would undo that, so nothing was deployed. Ask again from the live "
            "version if it is still wanted.",
        )
    except DeployFailed as e:
        return _decision(session_factory, review_id, actor, note=str(e))
    return _decision(session_factory, review_id, actor)


def reject(
    session_factory: sessionmaker[Session],
    *,
    actor: Actor,
    review_id: int,
    reason: str | None = None,
) -> ReviewDecision:
    """Reject request `review_id` (owners of its project only): its version never goes live,
    live is untouched, the requester's reserved deploy is given back."""
    with session_factory.begin() as session:
        review = review_for_decision(session, review_id, actor)
        decide(session, review, ReviewState.rejected, actor, reason=reason)
    return _decision(session_factory, review_id, actor)
