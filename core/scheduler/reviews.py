"""Review requests shown to a project's owners: what decides an approval, read off the stored
version alone — the diff against what is live, the picture (changes marked), the test-run
result, the accounts it uses and every host it will reach.

`announce_reviews` hands each request not yet shown to the front end's notifier, once (a
conditional update claims it, so two replicas or a bot and the scheduler never show it twice):
the bot calls it right after a create, edit or rollback that waits; the execution watch's job
after each tick (a scheduled repair that waits, a request made on the CLI).

The test run: a version whose nodes only compute (no HTTP, app, Slack or code node) runs once
on a test copy (`core.run_now`, through the deploy gate) and the request shows how it went. One
that reaches outside n8n is not run for the review — a test run really sends those requests and
posts, which nobody asked for yet — and the request says so, naming those nodes.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from core.catalog.credential_domains import SERVICE_DOMAINS, bot_secret_of, secret_name_of
from core.deploy.workflows import get_version, head_version
from core.graph import Layout, diff_marks, layout_workflow
from core.kernel.models import Project, ProjectMember, VersionReview, Workflow, utcnow
from core.kernel.settings import Settings
from core.kernel.vocabulary import ReviewState, Role
from core.n8n import N8nClient
from core.n8n.diff import WorkflowDiff, diff_workflows
from core.run_now import outside_effects, run_now
from core.validation.guards import called_hosts

log = logging.getLogger(__name__)

# What the digest shown to the owner is cut to (the full one is stored and checked).
SHOWN_DIGEST = 12


@dataclass(frozen=True)
class ReviewTestRun:
    """The test run shown with a request: `status` success, error, refused, unknown, or
    `not_run` (`message` says why: the nodes that would reach outside n8n)."""

    status: str
    message: str = ""
    node: str | None = None


@dataclass(frozen=True)
class ReviewRequest:
    """One version waiting for an owner: everything the decision rests on."""

    review_id: int
    project: str
    workflow_id: int
    name: str
    version: int
    live_version: int  # 0: nothing live yet (a new workflow)
    source: str
    requested_by: str
    requested_at: dt.datetime
    digest: str  # the first SHOWN_DIGEST characters of the stored payload's checksum
    diff: WorkflowDiff | None  # against what is live; None for a new workflow
    node_count: int
    picture: Layout
    test_run: ReviewTestRun
    accounts: tuple[str, ...]
    hosts: tuple[str, ...]
    owners: tuple[str, ...]
    # The workflow's thread (None: it has none, a CLI request): where the requester hears.
    channel: str | None
    thread_ts: str | None


def reached_hosts(workflow: Mapping[str, Any]) -> list[str]:
    """Every host the workflow's nodes will reach, in words: the hosts of the URLs they call,
    their accounts' services, "any host" for code and for URLs built at run time."""
    found: list[str] = []
    for node in workflow.get("nodes") or []:
        if not isinstance(node, Mapping) or node.get("disabled") is True:
            continue
        name = str(node.get("name"))
        for host in called_hosts(node):
            found.append(host if host else f"a host computed at run time ({name})")
        kind = str(node.get("type") or "")
        if kind.rsplit(".", 1)[-1] in ("code", "aiTransform", "function", "functionItem"):
            found.append(f"any host its code calls ({name})")
        creds = node.get("credentials")
        for credential_type in creds if isinstance(creds, Mapping) else ():
            found.extend(SERVICE_DOMAINS.get(str(credential_type), ()))
    return list(dict.fromkeys(found))


def used_accounts(workflow: Mapping[str, Any]) -> list[str]:
    """The credentials the workflow's nodes use, "SECRET (type)" by the project secret's name
    ("the Clixen bot" for its own token), each once (never an id)."""
    found: list[str] = []
    for node in workflow.get("nodes") or []:
        creds = node.get("credentials") if isinstance(node, Mapping) else None
        for kind, ref in creds.items() if isinstance(creds, Mapping) else ():
            name = ref.get("name") if isinstance(ref, Mapping) else None
            label = "the Clixen bot" if bot_secret_of(name) else secret_name_of(name)
            found.append(f"{label or 'unnamed'} ({kind})")
    return list(dict.fromkeys(found))


def _test_run(
    session_factory: sessionmaker[Session],
    n8n: N8nClient,
    settings: Settings,
    review: VersionReview,
    payload: Mapping[str, Any],
) -> ReviewTestRun:
    """The request's test run, recorded on it (run once, whoever shows it first)."""
    if review.test_run:
        return ReviewTestRun(**review.test_run)
    effects = outside_effects(payload)
    if effects:
        named = ", ".join(f"{node} ({what})" for node, what in effects[:5])
        more = f" and {len(effects) - 5} more" if len(effects) > 5 else ""
        note = ReviewTestRun(
            "not_run",
            f"not test-run: a test run would really reach outside n8n through {named}{more}. "
            "Run it on a test copy after approving (Test run), or ask the requester for a sample.",
        )
    else:
        report = run_now(
            session_factory=session_factory,
            n8n=n8n,
            project_id=review.project_id,
            workflow=payload,
            settings=settings,
        )
        note = ReviewTestRun(report.status, report.message[:500], report.node)
    with session_factory.begin() as session:
        row = session.get(VersionReview, review.id)
        if row is not None:
            row.test_run = {"status": note.status, "message": note.message, "node": note.node}
    return note


def review_request(
    session_factory: sessionmaker[Session],
    *,
    n8n: N8nClient | None,
    settings: Settings,
    review_id: int,
) -> ReviewRequest:
    """Review `review_id` as its owners see it (test-running it first when it has not been and
    can be). Callers check who may see it."""
    with session_factory() as session:
        review = session.get(VersionReview, review_id)
        assert review is not None
        wf = session.get(Workflow, review.workflow_id)
        project = session.get(Project, review.project_id)
        assert wf is not None and project is not None
        payload = dict(
            get_version(session=session, workflow_id=wf.id, version=review.version).json_payload
        )
        live = head_version(session=session, workflow_id=wf.id)
        before = dict(live.json_payload) if live is not None else None
        owners = session.scalars(
            select(ProjectMember.user_id)
            .where(
                ProjectMember.project_id == project.id,
                ProjectMember.role == Role.owner.name,
            )
            .order_by(ProjectMember.id)
        ).all()
        thread = (wf.slack_channel_id, wf.slack_thread_ts)
        facts = (project.name, wf.id, wf.name, review.version, wf.head_version)
    if review.state == ReviewState.pending and n8n is not None:
        test = _test_run(session_factory, n8n, settings, review, payload)
    elif review.test_run:
        test = ReviewTestRun(**review.test_run)
    else:
        test = ReviewTestRun("not_run", "not test-run: n8n is not configured here.")
    title = f"{facts[2]} · v{facts[3]} (waiting for review)"
    if before is None:
        picture = layout_workflow(payload, title=title)
    else:
        drawn, marks = diff_marks(before, payload)
        picture = layout_workflow(drawn, marks=marks, title=title)
    return ReviewRequest(
        review_id=review.id,
        project=facts[0],
        workflow_id=facts[1],
        name=facts[2],
        version=facts[3],
        live_version=facts[4],
        source=review.source,
        requested_by=review.requested_by,
        requested_at=review.requested_at,
        digest=review.checksum[:SHOWN_DIGEST],
        diff=diff_workflows(before, payload) if before is not None else None,
        node_count=len(payload.get("nodes") or []),
        picture=picture,
        test_run=test,
        accounts=tuple(used_accounts(payload)),
        hosts=tuple(reached_hosts(payload)),
        owners=tuple(owners),
        channel=thread[0],
        thread_ts=thread[1],
    )


def _claim(session_factory: sessionmaker[Session], review_id: int) -> bool:
    """Mark the request shown; False when someone else did first."""
    with session_factory.begin() as session:
        done = session.execute(
            update(VersionReview)
            .where(VersionReview.id == review_id, VersionReview.announced_at.is_(None))
            .values(announced_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(done, "rowcount", 0))


def announce_reviews(
    session_factory: sessionmaker[Session],
    *,
    n8n: N8nClient | None,
    settings: Settings,
    show: Callable[[ReviewRequest], None],
    review_id: int | None = None,
) -> int:
    """Hand every pending request not yet shown (or only `review_id`) to `show`
    (a front end's notifier, as `core.scheduler.notify.ReviewRequested`); how many. A request
    whose showing fails is shown again next time."""
    with session_factory() as session:
        query = select(VersionReview.id).where(
            VersionReview.state == ReviewState.pending, VersionReview.announced_at.is_(None)
        )
        if review_id is not None:
            query = query.where(VersionReview.id == review_id)
        waiting = list(session.scalars(query.order_by(VersionReview.id)))
    shown = 0
    for one in waiting:
        if not _claim(session_factory, one):
            continue
        try:
            show(review_request(session_factory, n8n=n8n, settings=settings, review_id=one))
        except Exception:
            log.exception("review %s could not be shown; trying again next time", one)
            with session_factory.begin() as session:
                row = session.get(VersionReview, one)
                if row is not None:
                    row.announced_at = None
            continue
        shown += 1
    return shown
