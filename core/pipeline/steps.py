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
An edit's replies are operations (`core.generation.edits`) applied to the base version (a repair's,
to the candidate so far); one that removes nodes the request does not mention is refused like an
unusable reply.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from core.deploy import gate
from core.deploy.workflows import head_version
from core.generation.edit_diff import edit_from_whole_workflow
from core.generation.edit_prompts import edit_messages, edit_repair_messages
from core.generation.edits import (
    EditRejected,
    UnrequestedRemoval,
    apply_operations,
    parse_edit_reply,
    unrequested_removals,
)
from core.generation.node_lookup.tools import NodeLookup
from core.generation.prompts import Message, PromptContext, generation_messages
from core.generation.prompts import repair_messages as _repair_messages
from core.generation.replies import (
    ProposedWorkflow,
    Question,
    parse_reply,
    retrieve_context,
)
from core.generation.retrieval import known_context, repair_context
from core.kernel.errors import NotFound
from core.kernel.models import Workflow
from core.kernel.safety import LLMOutputInvalid
from core.kernel.vocabulary import RunKind, RunState
from core.pipeline.active import ActiveRun, StopRun, need_repair
from core.pipeline.budget import RepairBudget
from core.pipeline.credential_wait import await_credentials
from core.pipeline.delivery import step_deploying, step_watching
from core.pipeline.llm_calls import LLMCall, call_llm, converse, tools_offered
from core.pipeline.types import (
    MAX_QUESTIONS,
    PipelineError,
    ProblemKind,
)
from core.validation import Issue

logger = logging.getLogger(__name__)


def _step_queued(active: ActiveRun) -> None:
    active.save(RunState.generating, detail="generating")


def _ask(active: ActiveRun, messages: list[Message], ctx: PromptContext) -> LLMCall:
    """The model's answer, after the lookups it asks for when the server takes tools."""
    if not ctx.tools:
        return call_llm(active.services, active.run, messages)
    lookup = NodeLookup(
        catalog=active.services.catalog,
        templates=active.services.templates,
        denied=frozenset(ctx.denied_types),
    )
    return converse(active.services, active.run, messages, lookup)


def _project_context(
    active: ActiveRun, text: str, *, repairing: Mapping[str, Any] | None = None
) -> PromptContext:
    """Specs, examples, secrets, policy and known context for a prompt about `text`; for a
    repair of the workflow `repairing`, the specs of the node types it uses come first. It
    tells the model it may look nodes up when the server takes tools."""
    return replace(
        _retrieved_context(active, text, repairing=repairing), tools=tools_offered(active.services)
    )


def _retrieved_context(
    active: ActiveRun, text: str, *, repairing: Mapping[str, Any] | None = None
) -> PromptContext:
    project = active.project()
    policy = project.policy
    secrets = sorted(project.secrets.items())[:50]
    common: dict[str, Any] = {
        "text": text,
        "catalog": active.services.catalog,
        "templates": active.services.templates,
        "secret_names": [name for name, _ in secrets],
        "secret_types": {name: ctype for name, ctype in secrets if ctype},
        "denied_types": sorted(policy.denied),
        "known": known_context(
            user_id=active.run.user_id,
            channel_id=active.run.slack_channel_id,
            timezone=active.context.timezone,
        ),
    }
    if repairing is not None:
        return repair_context(workflow=repairing, **common)
    return retrieve_context(**common)


def _current_head(active: ActiveRun) -> tuple[int, dict[str, Any]]:
    """The version number and JSON of the workflow's head (what an edit starts from)."""
    with active.services.session_factory() as session:
        if active.run.workflow_id is None or session.get(Workflow, active.run.workflow_id) is None:
            raise NotFound("The workflow to edit no longer exists.")
        version = head_version(session=session, workflow_id=active.run.workflow_id)
        if version is None:
            raise NotFound("The workflow to edit has no deployed version.")
        return version.version, dict(version.json_payload)


def _step_generating(active: ActiveRun) -> None:
    active.emit(RunState.generating, "Designing the workflow…")
    context, request = active.context, active.run.request
    answers = [a.model_dump() for a in context.answers]
    text = request + " " + " ".join(a.answer for a in context.answers)
    prompt_ctx = _project_context(active, text)
    if active.run.kind == RunKind.edit:
        if context.base_workflow is None:
            context.base_version, context.base_workflow = _current_head(active)
        current = context.base_workflow
        messages = edit_messages(
            current=current,
            change=request,
            ctx=prompt_ctx,
            answers=answers,
            display_name=_display_name(active),
        )
    else:
        messages = generation_messages(request=request, ctx=prompt_ctx, answers=answers)
    if len(answers) >= MAX_QUESTIONS:
        messages[-1]["content"] += (
            "\nDo not ask another question: decide sensibly and return the workflow."
        )
    reply = _ask(active, messages, prompt_ctx)
    _take_reply(active, reply, repair_kind=None)


def _take_reply(active: ActiveRun, reply: LLMCall, *, repair_kind: ProblemKind | None) -> None:
    """Save what one LLM reply gave (candidate, question, or unusable text) with its charge."""
    context = active.context
    context.tool_rounds += reply.tool_rounds
    try:
        parsed = _parse(active, reply.text)
    except LLMOutputInvalid as e:
        code = e.code if isinstance(e, EditRejected) else "reply_not_json"
        context.problems = [Issue(code=code, message=e.reason)]
        context.problem_kind = ProblemKind.parse
        context.bad_reply = reply.text[:600]
        need_repair(active, ProblemKind.parse, charge=reply, repair_kind=repair_kind)
        return
    if isinstance(parsed, Question) and len(context.answers) < MAX_QUESTIONS:
        active.save(
            RunState.awaiting_input,
            detail="waiting for an answer",
            charge=reply,
            repair_kind=repair_kind,
            clarifying_question=parsed.text,
        )
        active.emit(RunState.awaiting_input, parsed.text)
        raise StopRun
    if isinstance(parsed, Question):
        context.problems = [
            Issue(
                code="question_instead_of_workflow",
                message="a workflow is required now; no more questions",
            )
        ]
        context.problem_kind = ProblemKind.parse
        context.bad_reply = reply.text[:600]
        need_repair(active, ProblemKind.parse, charge=reply, repair_kind=repair_kind)
        return
    assert isinstance(parsed, ProposedWorkflow)
    context.candidate = parsed.workflow
    if context.timezone and isinstance(parsed.workflow.get("settings", {}), dict):
        # The requester's timezone, unless the reply chose one: "every morning" means theirs.
        parsed.workflow.setdefault("settings", {}).setdefault("timezone", context.timezone)
    context.summary = parsed.summary or context.summary
    context.problems = []
    context.problem_kind = None
    context.bad_reply = None
    active.save(RunState.validating, detail="validating", charge=reply, repair_kind=repair_kind)


def _display_name(active: ActiveRun) -> Callable[[str], str | None]:
    """A node type's display name from the catalog ("Slack", "Edit Fields (Set)")."""
    nodes = active.services.catalog.nodes

    def display_name(node_type: str) -> str | None:
        spec = nodes.get(node_type)
        return spec.display_name if spec is not None else None

    return display_name


def _edit_target(active: ActiveRun) -> dict[str, Any]:
    """What an edit's operations apply to: the candidate so far, else the base version."""
    context = active.context
    target = context.candidate if context.candidate is not None else context.base_workflow
    if target is None:
        raise PipelineError("The edit lost the workflow it changes.")
    return target


# Runs whose replies are operations on an existing workflow: edits, and repairs the execution
# watch starts on a deployed head.
_AS_OPERATIONS = (RunKind.edit, RunKind.repair)


def _parse(active: ActiveRun, text: str) -> ProposedWorkflow | Question:
    """The candidate (or question) in a reply. An edit's reply is operations (or a whole
    workflow, turned into operations by diff), applied here to the workflow as it stands; one
    that removes nodes of the base version the request does not mention is refused
    (`UnrequestedRemoval`)."""
    if active.run.kind not in _AS_OPERATIONS:
        return parse_reply(text)
    target = _edit_target(active)
    try:
        parsed = parse_edit_reply(text)
    except LLMOutputInvalid:
        # A whole workflow instead of operations: its diff is the edit, under the same guards.
        whole = edit_from_whole_workflow(text, target)
        if whole is None:
            raise
        parsed = whole
    if isinstance(parsed, Question):
        return parsed
    context = active.context
    base = context.base_workflow or {}
    dropped = unrequested_removals(
        operations=parsed.operations,
        workflow=target,
        request=" ".join([active.run.request, *(a.answer for a in context.answers)]),
        display_name=_display_name(active),
        keep=[n["name"] for n in base.get("nodes") or [] if isinstance(n, dict) and "name" in n],
    )
    if dropped:
        raise UnrequestedRemoval(dropped)
    result = apply_operations(target, parsed.operations)
    if result.recheck:
        logger.info("run %s: credentials to re-check on %s", active.run.id, result.recheck)
    if result.rebind:
        # Their credential is asked for again before deploy, never bound by itself.
        context.ask_credentials = sorted({*context.ask_credentials, *result.rebind})
    return ProposedWorkflow(workflow=result.workflow, summary=parsed.summary)


def _step_repairing(active: ActiveRun) -> None:
    context = active.context
    kind = context.problem_kind or ProblemKind.validation
    budget = RepairBudget(active.run.total_repairs, active.run.validation_repairs)
    active.emit(RunState.repairing, f"Repairing ({budget.next_label.removeprefix('repair ')})…")
    answers = [a.model_dump() for a in context.answers]
    text = " ".join([active.run.request, *(a.answer for a in context.answers)])
    if active.run.kind in _AS_OPERATIONS:
        target = _edit_target(active)
        prompt_ctx = _project_context(active, text, repairing=target)
        messages = edit_repair_messages(
            request=active.run.request,
            workflow=target,
            problems=context.problems,
            kind=kind,
            ctx=prompt_ctx,
            bad_reply=context.bad_reply,
            answers=answers,
            display_name=_display_name(active),
        )
    else:
        prompt_ctx = _project_context(active, text, repairing=context.candidate)
        messages = _repair_messages(
            request=active.run.request,
            workflow=context.candidate,
            problems=context.problems,
            kind=kind,
            ctx=prompt_ctx,
            bad_reply=context.bad_reply,
            answers=answers,
        )
    reply = _ask(active, messages, prompt_ctx)
    _take_reply(active, reply, repair_kind=kind)


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
