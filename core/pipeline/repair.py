"""Repairing a deployed workflow after the execution watch saw it fail: a `repair` run from the
head version with n8n's error, under the same caps as the run that made the version.

Contract: the combined cap spans every automatic repair since the last version a person asked
for (generate, edit, rollback), across executions; when it is spent the workflow is reported once
per head version as needing manual review. The same failed execution never starts two repairs.
A repair is built from the head it saw: if a person rolls back or edits meanwhile, the fix is not
deployed over their version, they are told so, and the watch goes on from the new head. The model
answers it with edit operations on the head (as for a change request), so nothing it does not
name changes and a large workflow is never clipped.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.deploy.workflows import head_version
from core.kernel import metrics, telemetry
from core.kernel.errors import NotFound
from core.kernel.models import PipelineRun, Project, VersionReview, Workflow, WorkflowVersion
from core.kernel.vocabulary import (
    ReviewState,
    RunKind,
    RunState,
    VersionSource,
    VersionStatus,
    WorkflowStatus,
)
from core.n8n import ExecutionFailure, N8nError
from core.pipeline.budget import RepairBudget
from core.pipeline.claims import hold_here
from core.pipeline.engine import execute_run
from core.pipeline.runs import get_run, run_by_key
from core.pipeline.types import (
    CONFLICT,
    MAX_TOTAL_REPAIRS,
    PipelineServices,
    ProblemKind,
    Progress,
    RunContext,
    RuntimeFailure,
)
from core.pipeline.watch import ran_candidate
from core.validation import Issue

logger = logging.getLogger(__name__)


def repair_after_runtime_error(
    services: PipelineServices,
    *,
    workflow_id: int,
    failure: ExecutionFailure,
    progress: Progress | None = None,
) -> str | None:
    """Repair a deployed workflow whose execution failed (seen by the execution watch).

    Starts a `repair` run from the head version with n8n's error, deploys the fix as a new
    version and returns one line for the workflow's thread — or None when there is nothing new
    to say: the execution ran a version that has since been replaced, or the workflow was
    already reported as needing manual review at its current version.

    Caps: MAX_TOTAL_REPAIRS covers every automatic repair since the last version a person asked
    for (generate, edit, rollback) — the repairs of the run that made it plus every watch-started
    repair after it, across executions. The repair run starts with what was already spent, so its
    own repairs stop at the same caps. Once spent, the next failure is reported once as needing
    manual review (a failed `repair` run with `needs_review`); an edit or a rollback starts a new
    budget. The run acts as the workflow's creator: its tokens and deploy count against the
    creator's daily quota. The same failed execution never starts two repairs (idempotency key
    per execution); callers serialize calls per workflow (the watch runs under its job lock).
    When the head moved while the repair worked (a rollback, an edit), the fix is not deployed
    and the line says so; the next failure of the new head starts a repair of its own.
    """
    if services.llm is None:
        return "Automatic repair needs the AI service, which is not configured here."
    key = f"runtime:{workflow_id}:{failure.execution_id}"
    existing = run_by_key(services.session_factory, key)
    if existing is not None:
        return f"A repair of this error already ran (run {existing.id}, {existing.state})."
    with services.session_factory() as session:
        head = _deployed_head(session, workflow_id)
        seen = head.version, dict(head.json_payload)
    # n8n is asked with no transaction open; the head is read again (and compared) below.
    if not _failed_on(services, failure, seen[1]):
        logger.info(
            "execution %s of workflow %s ran a replaced version; not repaired",
            failure.execution_id,
            workflow_id,
        )
        return None
    with services.session_factory.begin() as session:
        head = _deployed_head(session, workflow_id)
        wf = session.get(Workflow, workflow_id)
        project = session.get(Project, wf.project_id) if wf is not None else None
        assert wf is not None and project is not None
        if wf.status == WorkflowStatus.inactive:
            return None  # paused by a person: not repaired until resumed
        if head.version != seen[0]:
            logger.info("workflow %s: the head moved while checking; not repaired", wf.id)
            return None
        if _fix_waits(session, wf.id):
            return None  # a fix already waits for an owner: said once, when it was made
        spent_total, spent_validation = _repairs_spent(session, wf)
        context = RunContext(
            base_version=head.version,
            # The repair is operations on the head, like an edit (never the whole workflow).
            base_workflow=dict(head.json_payload),
            candidate=dict(head.json_payload),
            problems=[Issue(code="execution_failed", message=failure.message, node=failure.node)],
            problem_kind=ProblemKind.runtime,
            runtime_failures=[RuntimeFailure(node=failure.node, message=failure.message[:300])],
        )
        run = PipelineRun(
            project_id=wf.project_id,
            workflow_id=wf.id,
            team_id=project.team_id,
            user_id=wf.created_by,
            kind=RunKind.repair,
            request=f"Fix the runtime error of workflow {wf.name!r}.",
            state=RunState.repairing,
            idempotency_key=key,
            total_repairs=spent_total,
            validation_repairs=spent_validation,
            context=context.stored(),
            slack_channel_id=wf.slack_channel_id,
            slack_thread_ts=wf.slack_thread_ts,
        )
        hold_here(services, run)  # driven by this process right away
        if RepairBudget(spent_total, spent_validation).exhausted(ProblemKind.runtime):
            return _needs_review(services, session, run, wf.head_version)
        try:
            with session.begin_nested():
                session.add(run)
        except IntegrityError:
            return "A repair of this error is already under way."
    outcome = execute_run(services, run.id, progress)
    if outcome.review_id is not None:
        return (
            f"I prepared a fix, v{outcome.review_version}; it waits for a project owner's "
            f"approval (review #{outcome.review_id}) before it goes live (run {outcome.run_id})."
        )
    if outcome.ok:
        return f"I repaired it and deployed version {outcome.version} (run {outcome.run_id})."
    if get_run(services, outcome.run_id).step_detail == CONFLICT:
        return f"{outcome.message} (run {outcome.run_id})"
    return f"I could not repair it automatically (run {outcome.run_id}): {outcome.message}"


def _fix_waits(session: Session, workflow_id: int) -> bool:
    """Whether a repair of the workflow waits for an owner's review (review before live)."""
    return (
        session.scalar(
            select(VersionReview.id)
            .where(
                VersionReview.workflow_id == workflow_id,
                VersionReview.state == ReviewState.pending,
                VersionReview.source == VersionSource.repair,
            )
            .limit(1)
        )
        is not None
    )


def _deployed_head(session: Session, workflow_id: int) -> WorkflowVersion:
    """The workflow's head version; NotFound when it has none (never deployed, or deleted)."""
    wf = session.get(Workflow, workflow_id)
    if wf is None or wf.status == WorkflowStatus.deleted or wf.head_version < 1:
        raise NotFound(f"Workflow {workflow_id} has no deployed version to repair.")
    head = head_version(session=session, workflow_id=wf.id)
    if head is None:
        raise NotFound(f"Workflow {workflow_id} has no deployed version to repair.")
    return head


def _failed_on(
    services: PipelineServices, failure: ExecutionFailure, head: Mapping[str, Any]
) -> bool:
    """Whether the failed execution ran the head version (not one a repair already replaced)."""
    try:
        execution = services.n8n.get_execution(failure.execution_id, include_data=True)
    except N8nError:
        return True  # cannot tell: repairing the head is the safe side
    return ran_candidate(execution, head)


def _repairs_spent(session: Session, wf: Workflow) -> tuple[int, int]:
    """(all, validation) repairs spent since the last version a person asked for."""
    base = session.scalar(
        select(WorkflowVersion)
        .where(
            WorkflowVersion.workflow_id == wf.id,
            WorkflowVersion.source != VersionSource.repair,
            WorkflowVersion.status.in_((VersionStatus.deployed, VersionStatus.superseded)),
        )
        .order_by(WorkflowVersion.version.desc())
        .limit(1)
    )
    stmt = select(PipelineRun).where(
        PipelineRun.workflow_id == wf.id, PipelineRun.kind == RunKind.repair
    )
    if base is not None:
        stmt = stmt.where(PipelineRun.created_at >= base.created_at)
    # A repair run starts with the counts before it, so the newest one holds the total.
    latest = session.scalar(stmt.order_by(PipelineRun.id.desc()).limit(1))
    if latest is None and base is not None and base.run_id is not None:
        latest = session.get(PipelineRun, base.run_id)
    if latest is None:
        return 0, 0
    return latest.total_repairs, latest.validation_repairs


def _needs_review(
    services: PipelineServices, session: Session, run: PipelineRun, version: int
) -> str | None:
    """Close the case as needing manual review, once per head version (None if already done)."""
    run.idempotency_key = f"review:{run.workflow_id}:v{version}"
    run.state = RunState.failed
    run.needs_review = True
    run.finished_at = services.clock()
    run.error = (
        f"Version {version} keeps failing in n8n and the {MAX_TOTAL_REPAIRS} automatic repairs "
        "allowed since it was last changed on request are used up, so I stopped repairing it. "
        "The case was logged for a manual review: edit it (ask in this thread) or roll back to "
        "an earlier version."
    )
    try:
        with session.begin_nested():
            session.add(run)
            session.flush()
    except IntegrityError:
        return None  # already reported at this version
    metrics.RUN_FAILURES.labels("repair_cap").inc()  # a failed run stored without a drive
    telemetry.record(
        session=session,
        type=telemetry.ERROR,
        team_id=run.team_id,
        user_id=run.user_id,
        project_id=run.project_id,
        workflow_id=run.workflow_id,
        category="repair_cap",
        properties={"kind": RunKind.repair.value, "repairs": run.total_repairs, "version": version},
    )
    logger.warning(
        "workflow %s v%s keeps failing after %s repairs; needs manual review (run %s)",
        run.workflow_id,
        version,
        run.total_repairs,
        run.id,
    )
    return f"{run.error} (run {run.id})"
