"""One turn with the model, as a run takes it: what the prompt carries (`prompt_context`), the
messages of a first request or an edit (`first_messages`) and of a repair (`repair_messages`),
and what the reply gave (`read_reply`: a workflow, a question, or a problem for the repair).

The one door of `core.generation` for the pipeline's steps, so a step makes one call per move.
An edit's reply (and a repair of a deployed head's) is operations (`core.generation.edits`),
or a whole workflow turned into operations by diff, applied to the workflow as it stands under
the same guards; one that removes nodes of the base version the request does not mention is
refused like an unusable reply.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from core.catalog import NodeCatalog
from core.generation.edit_diff import edit_from_whole_workflow
from core.generation.edit_prompts import edit_messages, edit_repair_messages
from core.generation.edits import (
    EditRejected,
    UnrequestedRemoval,
    apply_operations,
    parse_edit_reply,
    unrequested_removals,
)
from core.generation.prompts import Message, PromptContext, generation_messages
from core.generation.prompts import repair_messages as workflow_repair_messages
from core.generation.replies import Question, parse_reply
from core.generation.retrieval import known_context, repair_context, retrieve_context
from core.generation.templates import TemplateLibrary
from core.kernel.safety import LLMOutputInvalid
from core.validation import Issue

# The most secrets a prompt names (by name and type, never a value).
_MAX_SECRETS = 50


@dataclass(frozen=True)
class Asker:
    """Who asks, where and when (Slack ids and a timezone: only well-formed ones reach the
    model), and the project as the step read it: its secrets (name → credential type) and the
    node types its policy denies."""

    user_id: str | None
    channel_id: str | None
    timezone: str | None
    secrets: Mapping[str, str | None]
    denied: frozenset[str]


def prompt_context(
    text: str,
    *,
    asker: Asker,
    catalog: NodeCatalog,
    templates: TemplateLibrary | None,
    tools: bool,
    repairing: Mapping[str, Any] | None = None,
) -> PromptContext:
    """Specs, examples, secrets, policy and known context for a prompt about `text`; for a
    repair of the workflow `repairing`, the specs of the node types it uses come first. `tools`:
    the model may look nodes up (the server takes tools)."""
    secrets = sorted(asker.secrets.items())[:_MAX_SECRETS]
    common: dict[str, Any] = {
        "text": text,
        "catalog": catalog,
        "templates": templates,
        "secret_names": [name for name, _ in secrets],
        "secret_types": {name: ctype for name, ctype in secrets if ctype},
        "denied_types": sorted(asker.denied),
        "known": known_context(
            user_id=asker.user_id, channel_id=asker.channel_id, timezone=asker.timezone
        ),
    }
    if repairing is not None:
        ctx = repair_context(workflow=repairing, **common)
    else:
        ctx = retrieve_context(**common)
    return replace(ctx, tools=tools)


def first_messages(
    request: str,
    *,
    ctx: PromptContext,
    answers: Sequence[Mapping[str, str]],
    catalog: NodeCatalog,
    edit_of: Mapping[str, Any] | None = None,
    last_question: bool = False,
) -> list[Message]:
    """The messages of a new workflow, or of a change to `edit_of` (the head it starts from).
    `last_question`: the model asked all the questions it may; it must decide now."""
    if edit_of is not None:
        messages = edit_messages(
            current=edit_of,
            change=request,
            ctx=ctx,
            answers=answers,
            display_name=display_names(catalog),
        )
    else:
        messages = generation_messages(request=request, ctx=ctx, answers=answers)
    if last_question:
        messages[-1]["content"] += (
            "\nDo not ask another question: decide sensibly and return the workflow."
        )
    return messages


def repair_messages(
    request: str,
    *,
    workflow: dict[str, Any] | None,
    problems: Sequence[Issue],
    kind: str,
    ctx: PromptContext,
    bad_reply: str | None,
    answers: Sequence[Mapping[str, str]],
    catalog: NodeCatalog,
    as_operations: bool,
) -> list[Message]:
    """The messages of a repair of `workflow` (what `problems` of `kind` say is wrong; the last
    unusable reply when there was one). `as_operations`: the answer is edit operations."""
    what: dict[str, Any] = {
        "request": request,
        "problems": problems,
        "kind": kind,
        "ctx": ctx,
        "bad_reply": bad_reply,
        "answers": answers,
    }
    if as_operations:
        assert workflow is not None
        return edit_repair_messages(workflow=workflow, display_name=display_names(catalog), **what)
    return workflow_repair_messages(workflow=workflow, **what)


@dataclass(frozen=True)
class EditScope:
    """What an edit's operations apply to: `target` (the candidate so far, else the base
    version), the `base` version (its nodes are never removed unless `request` names them) and
    the request with the user's answers."""

    target: dict[str, Any]
    base: Mapping[str, Any]
    request: str


@dataclass(frozen=True)
class Reading:
    """What one reply gave: a `workflow` (with its `summary`), a `question`, or a `problem` (an
    unusable reply, or a question when none may be asked: the repair is told). An edit also
    says which nodes' credentials to ask for again (`rebind`) or to re-check (`recheck`)."""

    workflow: dict[str, Any] | None = None
    summary: str = ""
    question: str | None = None
    problem: Issue | None = None
    rebind: list[str] = field(default_factory=list)
    recheck: list[str] = field(default_factory=list)


def read_reply(
    text: str, *, catalog: NodeCatalog, edit: EditScope | None, may_ask: bool
) -> Reading:
    """The candidate (or question) in a reply. With `edit`, the reply is operations (or a
    whole workflow, turned into operations by diff) applied to `edit.target`. `may_ask`: a
    question is still allowed (else it is a problem)."""
    try:
        parsed = parse_reply(text) if edit is None else _edited(text, edit, catalog)
    except LLMOutputInvalid as e:
        code = e.code if isinstance(e, EditRejected) else "reply_not_json"
        return Reading(problem=Issue(code=code, message=e.reason))
    if isinstance(parsed, Question):
        if may_ask:
            return Reading(question=parsed.text)
        return Reading(
            problem=Issue(
                code="question_instead_of_workflow",
                message="a workflow is required now; no more questions",
            )
        )
    if isinstance(parsed, Reading):
        return parsed
    return Reading(workflow=parsed.workflow, summary=parsed.summary)


def _edited(text: str, edit: EditScope, catalog: NodeCatalog) -> Reading | Question:
    try:
        parsed = parse_edit_reply(text)
    except LLMOutputInvalid:
        # A whole workflow instead of operations: its diff is the edit, under the same guards.
        whole = edit_from_whole_workflow(text, edit.target)
        if whole is None:
            raise
        parsed = whole
    if isinstance(parsed, Question):
        return parsed
    dropped = unrequested_removals(
        operations=parsed.operations,
        workflow=edit.target,
        request=edit.request,
        display_name=display_names(catalog),
        keep=[
            n["name"] for n in edit.base.get("nodes") or [] if isinstance(n, dict) and "name" in n
        ],
    )
    if dropped:
        raise UnrequestedRemoval(dropped)
    result = apply_operations(edit.target, parsed.operations)
    return Reading(
        workflow=result.workflow,
        summary=parsed.summary,
        rebind=list(result.rebind),
        recheck=list(result.recheck),
    )


def display_names(catalog: NodeCatalog) -> Callable[[str], str | None]:
    """A node type's display name from the catalog ("Slack", "Edit Fields (Set)")."""
    nodes = catalog.nodes

    def display_name(node_type: str) -> str | None:
        spec = nodes.get(node_type)
        return spec.display_name if spec is not None else None

    return display_name
