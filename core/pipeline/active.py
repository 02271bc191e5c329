"""One run while it executes: `ActiveRun` holds its row and its typed `RunContext`, saves both
(with the LLM charge and the repair counters) in one transaction per step, and reports progress.
The ways a step ends the run live here too: `need_repair` (go on repairing, or fail at the caps),
`succeed`, `fail`, and `outcome` (where a run stands, in words a user can read).

A step reads its project once (`ActiveRun.project`: the node policy in force and the secrets'
names and types, `ProjectSnapshot`); `engine` forgets it between steps, so each step sees the
project as it is when the step starts.

Contract: `ActiveRun.context` is the only working data of a run; `save` is the only writer of the
run's row while it executes, and after it returns the run's state is durable. `save` writes only
while the worker still holds the run's claim (else it raises `ClaimLost` and writes nothing), and
settles the LLM call whose answer it records (`LLMCall`: the reply and its token reservation). A
step raises `StopRun` when the run reached a state where `execute_run` returns (a question, a
failure). A failed `create` run that never deployed takes its empty draft workflow with it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from core import deploy
from core.credentials.secrets import SecretInfo, list_secrets
from core.kernel import metrics, telemetry
from core.kernel.models import PipelineRun, Workflow
from core.kernel.vocabulary import FINISHED, RunKind, RunState
from core.n8n.diff import diff_workflows
from core.pipeline.budget import RepairBudget
from core.pipeline.claims import lease_end
from core.pipeline.llm_calls import LLMCall
from core.pipeline.types import (
    MAX_TOTAL_REPAIRS,
    NeededCredential,
    PipelineServices,
    ProblemKind,
    Progress,
    ProgressEvent,
    RunContext,
    RunOutcome,
)
from core.workspace import quotas
from core.workspace.policy import NodePolicy, policy_for_project

logger = logging.getLogger(__name__)


class StopRun(Exception):
    """Internal: the run reached a state where `execute_run` returns."""


class ClaimLost(Exception):
    """Internal: another worker holds the run's claim now (this one's lease had run out)."""


@dataclass(frozen=True)
class ProjectSnapshot:
    """What a step knows of the run's project, read in one session: the node policy in force
    (with the project's live n8n workflows) and its secrets (`infos`: name, credential type,
    allowed hosts; `secrets`: name → credential type, None: not typed yet). Never a secret's
    value."""

    policy: NodePolicy
    infos: tuple[SecretInfo, ...]

    @property
    def secrets(self) -> Mapping[str, str | None]:
        return {i.name: i.credential_type for i in self.infos}


def read_project(session: Session, project_id: int) -> ProjectSnapshot:
    return ProjectSnapshot(
        policy=policy_for_project(session=session, project_id=project_id),
        infos=tuple(list_secrets(session=session, project_id=project_id)),
    )


@dataclass(frozen=True)
class NewWorkflow:
    """The workflow record a run's first deploy creates (`ActiveRun.save(new_workflow=…)`)."""

    name: str
    description: str | None

    def create(self, session: Session, row: PipelineRun) -> int:
        """Create the draft in the run's project and thread; its id."""
        wf = deploy.create_workflow_record(
            session=session,
            project_id=row.project_id,
            name=self.name[:200] or "Workflow",
            description=self.description,
            created_by=row.user_id,
            slack_channel_id=row.slack_channel_id,
            slack_thread_ts=row.slack_thread_ts,
        )
        return wf.id


@dataclass
class ActiveRun:
    """The in-memory view of one run while it executes; `save` makes it durable."""

    services: PipelineServices
    run: PipelineRun
    context: RunContext
    progress: Progress | None
    # The claim this worker holds (see core/pipeline/claims.py); None: a read-only view.
    owner: str | None = None
    # The project as the current step read it (`project`); None until a step asks.
    snapshot: ProjectSnapshot | None = None
    # (workflow id, its n8n id) as last read or known (`n8n_id`); forgotten between steps and
    # whenever a deploy may have changed it.
    n8n_seen: tuple[int, str | None] | None = None

    @classmethod
    def of(
        cls,
        services: PipelineServices,
        run: PipelineRun,
        progress: Progress | None = None,
        *,
        owner: str | None = None,
    ) -> ActiveRun:
        context = RunContext.of(run.context)
        return cls(services=services, run=run, context=context, progress=progress, owner=owner)

    @property
    def state(self) -> RunState:
        return RunState(self.run.state)

    def project(self) -> ProjectSnapshot:
        """The run's project as this step sees it: read on the first call of the step."""
        if self.snapshot is None:
            with self.services.session_factory() as session:
                self.snapshot = read_project(session, self.run.project_id)
        return self.snapshot

    def emit(self, step: RunState, message: str) -> None:
        if self.progress is None:
            return
        try:
            self.progress(
                ProgressEvent(
                    run_id=self.run.id,
                    step=step,
                    message=message,
                    repair_number=self.run.total_repairs,
                    repair_cap=MAX_TOTAL_REPAIRS,
                )
            )
        except Exception:  # a broken progress display must not break the run
            logger.exception("progress callback failed for run %s", self.run.id)

    def save(
        self,
        state: RunState,
        *,
        detail: str | None = None,
        charge: LLMCall | None = None,
        repair_kind: ProblemKind | None = None,
        extra: Callable[[Session, PipelineRun], None] | None = None,
        new_workflow: NewWorkflow | None = None,
        **fields: Any,
    ) -> None:
        """Persist the new state, the working data, the LLM charge, all in one transaction;
        `new_workflow`: the run's workflow record is created (a draft) and linked to it there.

        Raises ClaimLost (writing nothing) when this worker no longer holds the run's claim.
        """
        if self.owner is None:
            raise RuntimeError("a run is saved only by the worker holding its claim")
        with self.services.session_factory.begin() as session:
            row = session.get(PipelineRun, self.run.id, with_for_update=True)
            assert row is not None
            if row.owner_pid != self.owner:
                raise ClaimLost
            row.state = state
            row.step_detail = detail
            row.context = self.context.stored()
            row.heartbeat_at = self.services.clock()
            row.lease_until = lease_end(self.services)
            if charge is not None:
                # Tool rounds before the answer were settled as they ended; all count here.
                row.prompt_tokens += charge.prompt_tokens
                row.completion_tokens += charge.completion_tokens
                quotas.settle_tokens(
                    session=session, reservation=charge.reservation, used=charge.reply.total_tokens
                )
            if repair_kind is not None:
                spent = RepairBudget(row.total_repairs, row.validation_repairs).spend(repair_kind)
                row.total_repairs, row.validation_repairs = spent.total, spent.validation
            for key, value in fields.items():
                setattr(row, key, value)
            if state in FINISHED:
                row.finished_at = self.services.clock()
            if new_workflow is not None:
                row.workflow_id = new_workflow.create(session, row)
            if extra is not None:
                extra(session, row)
            session.flush()
            session.expunge(row)
        self.run = row
        if repair_kind is not None:
            metrics.REPAIRS.labels(repair_kind).inc()

    def n8n_id(self) -> str | None:
        """The n8n id of the run's workflow (None before its first deploy): read once per step,
        or until a deploy forgets it (`n8n_seen`)."""
        workflow_id = self.run.workflow_id
        if workflow_id is None:
            return None
        if self.n8n_seen is not None and self.n8n_seen[0] == workflow_id:
            return self.n8n_seen[1]
        with self.services.session_factory() as session:
            wf = session.get(Workflow, workflow_id)
            n8n_id = wf.n8n_workflow_id if wf else None
        self.n8n_seen = (workflow_id, n8n_id)
        return n8n_id


# --- how a step ends or continues the run -----------------------------------------------------


def need_repair(
    active: ActiveRun,
    kind: ProblemKind,
    *,
    charge: LLMCall | None = None,
    repair_kind: ProblemKind | None = None,
) -> None:
    """Go to `repairing` if the caps allow another repair of this kind, else fail the run.

    The problems to repair are already in `active.context`; `repair_kind` is the kind of the
    repair whose reply brought them (None when no repair was spent on them yet).
    """
    budget = RepairBudget(active.run.total_repairs, active.run.validation_repairs)
    if repair_kind is not None:
        budget = budget.spend(repair_kind)
    if not budget.exhausted(kind):
        active.save(
            RunState.repairing,
            detail=budget.next_label,
            charge=charge,
            repair_kind=repair_kind,
        )
        return
    # Save the charge and counters first so the failure below reflects the real spend.
    active.save(active.state, detail=active.run.step_detail, charge=charge, repair_kind=repair_kind)
    fail(active, _cap_message(active, kind), category="repair_cap", needs_review=True)
    raise StopRun


def _cap_message(active: ActiveRun, kind: ProblemKind) -> str:
    which = RepairBudget(active.run.total_repairs, active.run.validation_repairs).cap_reached(kind)
    problems = active.context.problems
    lines = [f"I could not build a working workflow after {which}. What is still wrong:"]
    lines += [f"• {p.plain()}" for p in problems[:8]]
    if len(problems) > 8:
        lines.append(f"• …and {len(problems) - 8} more")
    if active.context.version is not None:
        lines.append(
            f"Version {active.context.version} is deployed but fails when it runs; "
            "you can roll back to an earlier version."
        )
    lines.append("The case was logged for a manual review. Rephrasing the request may help.")
    return "\n".join(lines)


def succeed(active: ActiveRun) -> None:
    """End the run as succeeded: its last deployed version is live (telemetry recorded)."""
    version = active.context.version

    def record(session: Session, row: PipelineRun) -> None:
        telemetry.record(
            session=session,
            type=telemetry.WORKFLOW_CREATED if row.kind == RunKind.create else telemetry.DEPLOYED,
            team_id=row.team_id,
            user_id=row.user_id,
            project_id=row.project_id,
            workflow_id=row.workflow_id,
            properties={
                "kind": row.kind,
                "repairs": row.total_repairs,
                "validation_repairs": row.validation_repairs,
                **({"version": version} if version is not None else {}),
            },
        )

    active.save(RunState.succeeded, detail=f"version {version} deployed", extra=record, error=None)
    active.emit(RunState.succeeded, _success_message(active))


def await_review(active: ActiveRun, *, review_id: int, version: int) -> None:
    """End the run: its version is stored and waits for a project owner's approval (review
    before live), nothing was sent to n8n. Not a failure; the requester hears the decision."""
    active.context.review_id, active.context.review_version = review_id, version
    active.save(RunState.succeeded, detail=f"v{version} waits for review #{review_id}", error=None)
    active.emit(RunState.succeeded, _success_message(active))


def _success_message(active: ActiveRun) -> str:
    context = active.context
    if context.review_id is not None:
        name = (context.candidate or {}).get("name") or "The workflow"
        return (
            f"{name} v{context.review_version} is ready and waits for a project owner's "
            f"approval (review #{context.review_id}); nothing changed in n8n until then."
        )
    version = context.version if context.version is not None else "?"
    name = (context.candidate or {}).get("name") or "The workflow"
    parts = [f"{name} is deployed and active (version {version})."]
    if context.summary:
        parts.append(context.summary)
    if active.run.kind == RunKind.edit and context.base_workflow and context.candidate:
        # What the edit changed, parameter by parameter, next to the model's own words.
        changed = diff_workflows(context.base_workflow, context.candidate)
        parts.append("Changed: " + changed.details())
    if context.runtime_failures:
        f = context.runtime_failures[-1]
        parts.append(
            f"A test run had failed at {f.node or 'a node'} ({f.message}); "
            f"it was repaired and redeployed."
        )
    if context.last_execution and context.last_execution.status == "success":
        parts.append("Its test run succeeded.")
    return " ".join(parts)


def fail(active: ActiveRun, message: str, *, category: str, needs_review: bool = False) -> None:
    """End the run as failed with `message` for the user (telemetry records `category`)."""

    def record(session: Session, row: PipelineRun) -> None:
        telemetry.record(
            session=session,
            type=telemetry.ERROR,
            team_id=row.team_id,
            user_id=row.user_id,
            project_id=row.project_id,
            workflow_id=row.workflow_id,
            category=category,
            properties={"kind": row.kind, "repairs": row.total_repairs},
        )

    if needs_review:
        logger.warning(
            "run %s failed after %s repairs (%s validation); needs manual review",
            active.run.id,
            active.run.total_repairs,
            active.run.validation_repairs,
        )
    active.save(
        RunState.failed,
        detail=category,
        extra=record,
        error=message,
        needs_review=needs_review or active.run.needs_review,
    )
    metrics.RUN_FAILURES.labels(category).inc()
    _discard_draft(active)
    active.emit(RunState.failed, message)


def _discard_draft(active: ActiveRun) -> None:
    """A failed `create` run that never deployed leaves no empty workflow behind (its candidate
    and problems stay in the run for a manual look)."""
    run = active.run
    if run.kind != RunKind.create or run.workflow_id is None:
        return
    try:
        gone = deploy.discard_draft(
            session_factory=active.services.session_factory,
            n8n=active.services.n8n,
            workflow_id=run.workflow_id,
        )
    except Exception:  # the failure itself is recorded; a leftover draft is only untidy
        logger.warning("could not discard the draft of run %s", run.id, exc_info=True)
        return
    if gone:
        run.workflow_id = None


def outcome(
    active: ActiveRun, *, message: str | None = None, rejected: str | None = None
) -> RunOutcome:
    """Where the run stands now, in words a user can read (or in `message`); `rejected`: why
    n8n refused the credentials just given to a waiting run."""
    run, context, state = active.run, active.context, active.state
    if message is None:
        message = _state_message(active)
    return RunOutcome(
        run_id=run.id,
        state=state,
        message=message,
        question=run.clarifying_question if state == RunState.awaiting_input else None,
        workflow_id=run.workflow_id,
        n8n_workflow_id=active.n8n_id(),
        version=context.version,
        summary=context.summary or None,
        needs_review=run.needs_review,
        repairs=run.total_repairs,
        tokens=run.prompt_tokens + run.completion_tokens,
        problems=tuple(p.plain() for p in context.problems),
        credentials_needed=tuple((n.node, tuple(n.types)) for n in context.credentials_needed)
        if state == RunState.awaiting_credentials
        else (),
        credentials_rejected=rejected,
        review_id=context.review_id,
        review_version=context.review_version,
    )


def _state_message(active: ActiveRun) -> str:
    run, state = active.run, active.state
    if state == RunState.succeeded:
        return _success_message(active)
    if state == RunState.awaiting_input:
        return run.clarifying_question or ""
    if state == RunState.failed:
        return run.error or "The request failed."
    if state == RunState.awaiting_credentials:
        return credentials_message(active.context.credentials_needed)
    return f"The request is {state}."


def credentials_message(needed: Sequence[NeededCredential]) -> str:
    """What a run waiting for credentials needs, in words."""
    wants = "; ".join(f"{n.node} needs a {' or '.join(n.types)} credential" for n in needed)
    return (
        f"The workflow is ready but waits for credentials: {wants}. Nothing is lost: it deploys "
        "as soon as the project has them."
    )
