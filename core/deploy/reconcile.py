"""Reconciliation: remove what interrupted deploys left behind, on both sides.

- In n8n, a workflow carrying this installation's mark (`marker`) that no product workflow
  points to, whose mark names a create Clixen recorded before sending it (`DeployAttempt`) and
  never learnt the id of: a create n8n did late (after the deploy gave up waiting), or one whose
  id the deploying process died before recording. The mark alone proves nothing (anyone can
  copy it onto a workflow, and duplicating a workflow in n8n copies it): a mark of an attempt
  whose id is known, or of no recorded attempt, deletes nothing, and each attempt removes at
  most one workflow (the first n8n made), after which it is settled. It is **removed, never
  adopted**: Clixen never activated it (activation comes after the id is recorded), the deploy
  that sent it was reported failed to its user, and its JSON stays on Clixen's side (the failed
  version, the run that generated it, or the deployed file) — adopting it would bring back a
  workflow the user was told did not deploy, while removing it loses nothing.
- In the product, a workflow that never had a version deployed (a `draft` or `failed` record,
  or one hidden because n8n could not delete its copy then) with no run in progress on it.

Both wait `grace_s` since the leftover was last touched, and skip a workflow whose deploy lock is
held (a deploy in progress records its n8n id under that lock), so nothing still being worked on
is touched.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from sqlalchemy import and_, delete, exists, not_, or_, select
from sqlalchemy.orm import Session, sessionmaker

from core.deploy.errors import DeployBusy
from core.deploy.lifecycle import discard_draft
from core.deploy.lock import workflow_lock
from core.deploy.marker import DeployMark, mark_of, site_of
from core.kernel.models import DeployAttempt, PipelineRun, VersionReview, Workflow
from core.kernel.vocabulary import FINISHED, ReviewState, WorkflowStatus
from core.n8n import N8nClient, N8nError

log = logging.getLogger(__name__)

# How long a recorded create is remembered (`DeployAttempt`).
ATTEMPT_KEEP = dt.timedelta(days=7)


def reconcile(
    *, session_factory: sessionmaker[Session], n8n: N8nClient, now: dt.datetime, grace_s: float
) -> dict[str, Any]:
    """Remove marked n8n workflows without a product workflow, and never-deployed product
    workflows without a run in progress, each older than `grace_s`; says what went."""
    cutoff = now - dt.timedelta(seconds=grace_s)
    removed_n8n = _remove_unknown_marked(session_factory, n8n, cutoff)
    removed_drafts = _remove_stale_drafts(session_factory, n8n, cutoff)
    _prune_attempts(session_factory, now)
    if removed_n8n or removed_drafts:
        log.info("reconcile: removed n8n workflows %s, drafts %s", removed_n8n, removed_drafts)
    return {"n8n_removed": removed_n8n, "drafts_removed": removed_drafts}


def _remove_unknown_marked(
    session_factory: sessionmaker[Session], n8n: N8nClient, cutoff: dt.datetime
) -> list[str]:
    with session_factory() as session:
        known = set(
            session.scalars(
                select(Workflow.n8n_workflow_id).where(Workflow.n8n_workflow_id.is_not(None))
            )
        )
    site = site_of(session_factory)
    candidates: list[tuple[str, DeployMark, dt.datetime | None]] = []
    for wf in list(n8n.iter_workflows()):
        mark, n8n_id = mark_of(wf), str(wf.get("id"))
        if mark is None or mark.site != site or n8n_id in known:
            continue  # not Clixen's, another installation's, or known here
        candidates.append((n8n_id, mark, _parse_time(wf.get("createdAt"))))
    # The first workflow made for an attempt is its create; any later one is a copy.
    candidates.sort(key=lambda c: (c[2] or dt.datetime.min.replace(tzinfo=dt.UTC), _id_key(c[0])))
    removed: list[str] = []
    for n8n_id, mark, created in candidates:
        if created is None or created > cutoff:
            continue
        try:
            with workflow_lock(session_factory, mark.workflow, wait_s=0):
                with session_factory() as session:  # a deploy may have recorded it meanwhile
                    recorded = session.scalar(
                        select(Workflow.id).where(Workflow.n8n_workflow_id == n8n_id)
                    )
                    attempt = session.get(DeployAttempt, mark.deploy)
                    unresolved = (
                        attempt is not None
                        and attempt.n8n_workflow_id is None
                        and (attempt.workflow_id, attempt.version) == (mark.workflow, mark.version)
                    )
                if recorded is not None or not unresolved:
                    continue  # known, or not a create whose result Clixen never learnt
                n8n.delete_workflow(n8n_id)
                with session_factory.begin() as session:  # settled: a copy of its mark stays
                    settled = session.get(DeployAttempt, mark.deploy)
                    if settled is not None:
                        settled.n8n_workflow_id = n8n_id
        except DeployBusy:
            continue  # a deploy of that workflow is in progress; look again next time
        except N8nError as e:
            log.warning("reconcile: n8n workflow %s not removed: %s", n8n_id, e)
            continue
        log.warning(
            "reconcile: removed n8n workflow %s (left by an interrupted deploy of workflow %s v%s)",
            n8n_id,
            mark.workflow,
            mark.version,
        )
        removed.append(n8n_id)
    return removed


def _remove_stale_drafts(
    session_factory: sessionmaker[Session], n8n: N8nClient, cutoff: dt.datetime
) -> list[int]:
    run_in_progress = exists().where(
        PipelineRun.workflow_id == Workflow.id,
        PipelineRun.state.not_in([str(s) for s in FINISHED]),
    )
    # A new workflow whose v1 waits for an owner's review is not a leftover.
    awaiting = exists().where(
        VersionReview.workflow_id == Workflow.id, VersionReview.state == ReviewState.pending
    )
    leftover = or_(
        Workflow.status.in_([WorkflowStatus.draft, WorkflowStatus.failed]),
        and_(Workflow.status == WorkflowStatus.deleted, Workflow.n8n_workflow_id.is_not(None)),
    )
    with session_factory() as session:
        stale = list(
            session.scalars(
                select(Workflow.id).where(
                    Workflow.head_version == 0,
                    Workflow.updated_at < cutoff,
                    leftover,
                    not_(run_in_progress),
                    not_(awaiting),
                )
            )
        )
    removed: list[int] = []
    for workflow_id in stale:
        try:
            gone = discard_draft(
                session_factory=session_factory,
                n8n=n8n,
                workflow_id=workflow_id,
                include_hidden=True,
                lock_wait_s=0,
            )
        except DeployBusy:
            continue
        except N8nError as e:
            log.warning("reconcile: draft %s not removed: %s", workflow_id, e)
            continue
        if gone:
            removed.append(workflow_id)
    return removed


def _prune_attempts(session_factory: sessionmaker[Session], now: dt.datetime) -> None:
    """Forget attempts older than ATTEMPT_KEEP: a leftover shows up within minutes, and a mark
    without an attempt deletes nothing."""
    with session_factory.begin() as session:
        session.execute(delete(DeployAttempt).where(DeployAttempt.created_at < now - ATTEMPT_KEEP))


def _id_key(n8n_id: str) -> tuple[int, str]:
    return (int(n8n_id), "") if n8n_id.isdigit() else (0, n8n_id)


def _parse_time(value: Any) -> dt.datetime | None:
    try:
        parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
