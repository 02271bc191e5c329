"""The steps of a run, one function per in-progress state (`STEPS`): each does its work, saves the
run in its next state (or raises `StopRun`) and returns; `engine.execute_run` loops over them.

queued → generating → validating → deploying → watching (the last two in
`core.pipeline.delivery`) → succeeded, with `repairing` whenever a
candidate has problems and the caps allow (`active.need_repair`), and `awaiting_input` when the
model asks a question. Contract: a step may run again after a crash (a resumed run repeats the
step it was in), so each one is safe to repeat: the LLM charge is saved with the reply, and a
deploy of the same candidate by the same run is idempotent. Each LLM call reserves its tokens
first (prompt estimate + the `max_tokens` it sends), so the user's daily limit cannot be overrun.
A candidate remembers the version it was built from (`RunContext.base_version`): if the head
moved meanwhile (a rollback, another edit), it is not deployed over it and the run says so.
An edit's replies are operations applied to the base version (a repair's, to the candidate so
far); one that removes nodes the request does not mention is refused like an unusable reply.

One service per move: a step reads the project once (`ActiveRun.project`), then the model's turn
is `core.generation.turns` (what the prompt carries, the messages, what the reply gave) and
`llm_calls.ask` (the call, its tokens reserved), the check is the deploy gate's `review` (fixes,
credentials bound before the digest, validation), the wait for credentials `credential_wait`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from core.deploy import gate
from core.deploy.workflows import editable_head
from core.generation import turns
from core.generation.prompts import PromptContext
from core.kernel.vocabulary import RunKind, RunState
from core.pipeline.active import ActiveRun, StopRun, need_repair
from core.pipeline.budget import RepairBudget
from core.pipeline.credential_wait import await_credentials
from core.pipeline.delivery import step_deploying, step_watching
from core.pipeline.llm_calls import LLMCall, ask, tools_offered
from core.pipeline.types import MAX_QUESTIONS, PipelineError, ProblemKind

logger = logging.getLogger(__name__)

# Runs whose replies are operations on an existing workflow: edits, and repairs the execution
# watch starts on a deployed head.
_AS_OPERATIONS = (RunKind.edit, RunKind.repair)


def _step_queued(active: ActiveRun) -> None:
    active.save(RunState.generating, detail="generating")


def _step_generating(active: ActiveRun) -> None:
    active.emit(RunState.generating, "Designing the workflow…")
    context = active.context
    if active.run.kind == RunKind.edit and context.base_workflow is None:
        with active.services.session_factory() as session:
            head = editable_head(session=session, workflow_id=active.run.workflow_id)
            context.base_version, context.base_workflow = head.version, dict(head.json_payload)
    ctx = _prompt_context(active)
    messages = turns.first_messages(
        active.run.request,
        ctx=ctx,
        answers=[a.model_dump() for a in context.answers],
        catalog=active.services.catalog,
        edit_of=context.base_workflow if active.run.kind == RunKind.edit else None,
        last_question=len(context.answers) >= MAX_QUESTIONS,
    )
    _take_reply(active, ask(active.services, active.run, messages, ctx), repair_kind=None)


def _step_repairing(active: ActiveRun) -> None:
    context = active.context
    kind = context.problem_kind or ProblemKind.validation
    budget = RepairBudget(active.run.total_repairs, active.run.validation_repairs)
    active.emit(RunState.repairing, f"Repairing ({budget.next_label.removeprefix('repair ')})…")
    as_operations = active.run.kind in _AS_OPERATIONS
    workflow = _edit_target(active) if as_operations else context.candidate
    ctx = _prompt_context(active, repairing=workflow)
    messages = turns.repair_messages(
        active.run.request,
        workflow=workflow,
        problems=context.problems,
        kind=kind,
        ctx=ctx,
        bad_reply=context.bad_reply,
        answers=[a.model_dump() for a in context.answers],
        catalog=active.services.catalog,
        as_operations=as_operations,
    )
    _take_reply(active, ask(active.services, active.run, messages, ctx), repair_kind=kind)


def _prompt_context(
    active: ActiveRun, *, repairing: Mapping[str, object] | None = None
) -> PromptContext:
    """What a prompt about the request (and the user's answers) carries, under the project as
    this step read it; for a repair, the specs of the failing workflow's node types first."""
    snapshot = active.project()
    asker = turns.Asker(
        user_id=active.run.user_id,
        channel_id=active.run.slack_channel_id,
        timezone=active.context.timezone,
        secrets=snapshot.secrets,
        denied=frozenset(snapshot.policy.denied),
    )
    return turns.prompt_context(
        _request_text(active),
        asker=asker,
        catalog=active.services.catalog,
        templates=active.services.templates,
        tools=tools_offered(active.services),
        repairing=repairing,
    )


def _request_text(active: ActiveRun) -> str:
    """The request with the user's answers to the model's questions."""
    return " ".join([active.run.request, *(a.answer for a in active.context.answers)])


def _take_reply(active: ActiveRun, reply: LLMCall, *, repair_kind: ProblemKind | None) -> None:
    """Save what one LLM reply gave (candidate, question, or unusable text) with its charge."""
    context = active.context
    context.tool_rounds += reply.tool_rounds
    edit = None
    if active.run.kind in _AS_OPERATIONS:
        edit = turns.EditScope(
            target=_edit_target(active),
            base=context.base_workflow or {},
            request=_request_text(active),
        )
    reading = turns.read_reply(
        reply.text,
        catalog=active.services.catalog,
        edit=edit,
        may_ask=len(context.answers) < MAX_QUESTIONS,
    )
    if reading.question is not None:
        active.save(
            RunState.awaiting_input,
            detail="waiting for an answer",
            charge=reply,
            repair_kind=repair_kind,
            clarifying_question=reading.question,
        )
        active.emit(RunState.awaiting_input, reading.question)
        raise StopRun
    if reading.workflow is None:
        assert reading.problem is not None
        context.problems = [reading.problem]
        context.problem_kind = ProblemKind.parse
        context.bad_reply = reply.text[:600]
        need_repair(active, ProblemKind.parse, charge=reply, repair_kind=repair_kind)
        return
    if reading.recheck:
        logger.info("run %s: credentials to re-check on %s", active.run.id, reading.recheck)
    if reading.rebind:
        # Their credential is asked for again before deploy, never bound by itself.
        context.ask_credentials = sorted({*context.ask_credentials, *reading.rebind})
    workflow = reading.workflow
    if context.timezone and isinstance(workflow.get("settings", {}), dict):
        # The requester's timezone, unless the reply chose one: "every morning" means theirs.
        workflow.setdefault("settings", {}).setdefault("timezone", context.timezone)
    context.candidate = workflow
    context.summary = reading.summary or context.summary
    context.problems = []
    context.problem_kind = None
    context.bad_reply = None
    active.save(RunState.validating, detail="validating", charge=reply, repair_kind=repair_kind)


def _edit_target(active: ActiveRun) -> dict[str, object]:
    """What an edit's operations apply to: the candidate so far, else the base version."""
    context = active.context
    target = context.candidate if context.candidate is not None else context.base_workflow
    if target is None:
        raise PipelineError("The edit lost the workflow it changes.")
    return target


def _step_validating(active: ActiveRun) -> None:
    active.emit(RunState.validating, "Checking the workflow…")
    context = active.context
    if context.candidate is None:
        raise PipelineError("The run lost its candidate workflow.")
    snapshot = active.project()
    review = gate.review(
        context.candidate,
        session_factory=active.services.session_factory,
        project_id=active.run.project_id,
        project=(snapshot.policy, snapshot.infos),
        catalog=active.services.catalog,
        ask=context.ask_credentials,
        mcp=active.services.mcp,
    )
    # A clean verdict's digest is kept: the deploy does not validate the same workflow again.
    context.candidate, context.checked = review.workflow, review.digest
    context.field_warnings = review.field_warnings  # kept for a runtime failure's repair
    if review.fixes:
        context.fixes = [*context.fixes, *review.fixes][-40:]
    if review.problems:
        context.problems = review.problems
        context.problem_kind = ProblemKind.validation
        need_repair(active, ProblemKind.validation)
        return
    await_credentials(active, review.missing)  # stops the run until the project has them
    active.save(RunState.deploying, detail="deploying")


STEPS: Mapping[RunState, Callable[[ActiveRun], None]] = {
    RunState.queued: _step_queued,
    RunState.generating: _step_generating,
    RunState.repairing: _step_repairing,
    RunState.validating: _step_validating,
    RunState.deploying: step_deploying,
    RunState.watching: step_watching,
}
