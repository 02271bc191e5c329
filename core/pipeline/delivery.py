"""The last two steps of a run: deploying the validated candidate (never over a head that moved
since the candidate's base version; the workflow record created first, once) and watching its
first executions or test-running it, whose failure feeds the repair loop within the caps."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from core import deploy
from core.deploy.publish import WAITING_PREFIX
from core.deploy.workflows import get_version
from core.kernel.vocabulary import RunKind, RunState, VersionSource
from core.n8n import ExecutionFailure, execution_failure
from core.n8n.workflow_json import checksum
from core.pipeline.active import (
    ActiveRun,
    NewWorkflow,
    StopRun,
    await_review,
    fail,
    need_repair,
    succeed,
)
from core.pipeline.types import (
    CONFLICT,
    DeployedVersion,
    ExecutionSeen,
    PipelineError,
    ProblemKind,
    RuntimeFailure,
)
from core.pipeline.watch import await_execution, newest_execution_id, webhook_path
from core.run_now import run_now
from core.validation import Issue
from core.workspace.projects import Actor

if TYPE_CHECKING:
    from core.deploy import HeadMoved
    from core.kernel.models import WorkflowVersion


def step_deploying(active: ActiveRun) -> None:
    context = active.context
    candidate = context.candidate
    if candidate is None:
        raise PipelineError("The run lost its candidate workflow.")
    digest = checksum(candidate)
    source = VersionSource.for_run(active.run.kind, already_deployed=bool(context.deployed))
    new_record = active.run.workflow_id is None
    if new_record:
        _create_record(active, candidate)
    assert active.run.workflow_id is not None
    active.emit(RunState.deploying, "Deploying to n8n…")
    # A record made just now is in no n8n yet: it has no execution to look past.
    context.watch_after = (
        None if new_record else newest_execution_id(active.services, active.n8n_id())
    )
    active.n8n_seen = None  # the deploy may create (or recreate) the n8n workflow
    try:
        version = _deploy(active, candidate, digest, source)
    except deploy.HeadMoved as e:
        fail(active, _not_over(active, e), category=CONFLICT)
        raise StopRun from e
    except deploy.ReviewPending as e:
        # Review before live: validated and stored, not sent to n8n; an owner decides.
        await_review(active, review_id=e.review_id, version=e.version)
        raise StopRun from e
    except deploy.ValidationFailed as e:
        context.problems = list(e.report.errors)
        context.problem_kind = ProblemKind.validation
        need_repair(active, ProblemKind.validation)
        return
    except deploy.DeployFailed as e:
        if e.unanswered:
            # n8n was not there to refuse anything: no repair can help; say what to check.
            fail(active, str(e), category="n8n")
            raise StopRun from e
        context.problems = [Issue(code="n8n_rejected", message=e.n8n_message)]
        context.problem_kind = ProblemKind.validation
        need_repair(active, ProblemKind.validation)
        return
    _deployed(active, version.version, digest)


def _deploy(
    active: ActiveRun, candidate: Mapping[str, Any], digest: str, source: VersionSource
) -> WorkflowVersion:
    """The candidate through `deploy_version` as the run's user, once per run and digest, never
    over a head past the candidate's base version."""
    assert active.run.workflow_id is not None
    context = active.context
    return deploy.deploy_version(
        session_factory=active.services.session_factory,
        n8n=active.services.n8n,
        workflow_id=active.run.workflow_id,
        json_payload=candidate,
        source=source,
        actor=Actor(team_id=active.run.team_id, user_id=active.run.user_id),
        prompt=active.run.request,
        run_id=active.run.id,
        # The same candidate of the same run deploys once, even when a resumed run retries.
        idempotency_key=f"run:{active.run.id}:{digest}",
        settings=active.services.settings,
        expected_head=context.base_version,
        # Validated by the validate step with the run's catalog: not again unless changed.
        catalog=active.services.catalog,
        checked=context.checked,
        # Only what the user should hear (settings the product dropped, n8n keeping us
        # waiting), not every call.
        progress=lambda line: (
            active.emit(RunState.deploying, line)
            if line.startswith(("settings:", WAITING_PREFIX))
            else None
        ),
    )


def _deployed(active: ActiveRun, version: int, digest: str) -> None:
    """Version `version` recorded as the run's (one entry per digest) and watched next; a
    repair after this starts from it."""
    context = active.context
    context.deployed = [
        *(d for d in context.deployed if d.checksum != digest),
        DeployedVersion(version=version, checksum=digest),
    ]
    context.base_version = version
    active.save(RunState.watching, detail=f"watching version {version}")


def _not_over(active: ActiveRun, moved: HeadMoved) -> str:
    """Why the candidate was not deployed: the head moved while this run worked on it."""
    if active.run.kind == RunKind.repair or active.context.deployed:
        doing, thing = f"repairing v{moved.expected}", "fix"
    elif active.run.kind == RunKind.edit:
        doing, thing = f"editing v{moved.expected}", "change"
    else:
        doing, thing = "building it", "workflow"
    after = (
        f"I will watch v{moved.head} from here."
        if active.run.kind == RunKind.repair
        else f"v{moved.head} stays live; ask again if you still want this change made to it."
    )
    return (
        f"{moved.head_label} was deployed while I was {doing}; "
        f"I did not deploy my {thing} over it. {after}"
    )


def _create_record(active: ActiveRun, candidate: Mapping[str, Any]) -> None:
    """Create the product's workflow row and link it to the run in one transaction."""
    summary = active.context.summary
    name = str(candidate.get("name") or summary or active.run.request).strip()
    active.context.base_version = 0  # a new workflow: its first deploy expects no head yet
    # Saved at once: a crash after this point reuses the record instead of creating another.
    active.save(
        RunState.deploying,
        detail="deploying",
        new_workflow=NewWorkflow(name=name, description=summary or None),
    )


def step_watching(active: ActiveRun) -> None:
    n8n_id = active.n8n_id()
    assert n8n_id is not None
    context = active.context
    candidate = context.candidate or {}
    sample = context.test_sample
    hook = webhook_path(candidate)
    testing = sample is not None and hook is not None
    failure = None
    if sample is not None and hook is None:
        failure = _test_copy_failure(active, sample)
    elif testing:
        active.emit(RunState.watching, "Test-running it with the sample call…")
    elif active.services.watch_s > 0:
        active.emit(RunState.watching, "Watching the first executions…")
    if failure is None and (active.services.watch_s > 0 or testing):
        execution = await_execution(
            active.services,
            n8n_id,
            candidate=candidate,
            after=context.watch_after,
            sample=sample if hook else None,
            hook=hook,
        )
        if execution is not None:
            context.last_execution = ExecutionSeen(
                id=str(execution.get("id")), status=str(execution.get("status"))
            )
            failure = execution_failure(execution)
    if failure is not None:
        # Fields read that the upstream node does not output often explain a runtime error.
        context.problems = [
            Issue(code="execution_failed", message=failure.message, node=failure.node),
            *context.field_warnings,
        ]
        context.problem_kind = ProblemKind.runtime
        context.runtime_failures = [
            *context.runtime_failures,
            RuntimeFailure(node=failure.node, message=failure.message[:300]),
        ]
        active.emit(
            RunState.watching,
            f"A test run failed at {failure.node or 'a node'}: {failure.message}",
        )
        need_repair(active, ProblemKind.runtime)
        return
    succeed(active)


def _test_copy_failure(active: ActiveRun, sample: Mapping[str, Any]) -> ExecutionFailure | None:
    """Any trigger but a webhook: run the version just deployed once now on a test copy
    (`core.run_now`: built from the stored, filtered and bound version, never from the raw
    candidate), `sample` in its trigger's place (empty: the trigger's own sample); its failure,
    if any."""
    run = active.run
    assert run.workflow_id is not None
    with active.services.session_factory() as session:
        deployed = get_version(
            session=session, workflow_id=run.workflow_id, version=active.context.base_version or 0
        )
        payload = dict(deployed.json_payload)
    active.emit(RunState.watching, "Test-running it now on a test copy…")
    report = run_now(
        session_factory=active.services.session_factory,
        n8n=active.services.n8n,
        project_id=run.project_id,
        workflow=payload,
        sample=sample or None,
        settings=active.services.settings,
    )
    if report.ok or report.status == "unknown":
        return None
    return ExecutionFailure(
        execution_id=report.execution_id or "",
        node=report.node,
        message=report.message,
        status=report.status,
    )
