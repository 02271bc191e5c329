"""The durable pipeline: request → generate → validate → repair (capped) → deploy → watch.

Every request is a `PipelineRun` row. Each step saves the run's state and working data
(`PipelineRun.context`: candidate JSON, remaining problems, answers, deployed versions) before the
next one starts, so a process that dies mid-way leaves a run that `resume_incomplete_runs` can
continue or close. LLM tokens are charged in the same transaction that saves the call's result,
and a deploy first looks for a version this run already stored, so a resumed run never charges or
deploys twice.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from core import quotas, telemetry
from core.catalog import NodeCatalog
from core.errors import ClixenError, InvalidInput, LLMNotConfigured, NotFound
from core.generation import (
    Candidate,
    Question,
    apply_deterministic_fixes,
    known_versions,
    parse_reply,
    retrieve_context,
)
from core.llm import LLMClient, LLMError, LLMReply
from core.mcp_validation import MCP_ISSUE_CODE, McpUnavailable, McpValidator, combine
from core.models import PipelineRun, Project, Secret, Workflow, WorkflowVersion
from core.n8n import ExecutionFailure, N8nClient, N8nError, execution_failure
from core.policy import policy_for_project
from core.projects import Actor, Role, require_role
from core.prompts import Message, PromptContext, edit_messages
from core.prompts import generation_messages as _generation_messages
from core.prompts import repair_messages as _repair_messages
from core.safety import LLMOutputInvalid, sanitize_request
from core.settings import Settings
from core.templates import TemplateLibrary
from core.validation import Issue, validate
from core.workflow import checksum

logger = logging.getLogger(__name__)

# The design's caps: at most 2 LLM repairs for validation errors, 3 repairs in all.
MAX_VALIDATION_REPAIRS: Final = 2
MAX_TOTAL_REPAIRS: Final = 3
# A run asks at most this many clarifying questions; after that the model must decide.
MAX_QUESTIONS: Final = 2

QUEUED, GENERATING, VALIDATING, REPAIRING = "queued", "generating", "validating", "repairing"
DEPLOYING, WATCHING, AWAITING_INPUT = "deploying", "watching", "awaiting_input"
SUCCEEDED, FAILED = "succeeded", "failed"
IN_PROGRESS: Final = frozenset({QUEUED, GENERATING, VALIDATING, REPAIRING, DEPLOYING, WATCHING})
FINISHED: Final = frozenset({SUCCEEDED, FAILED})

# Problem kinds: what the repair prompt tells the model and which cap a repair counts against.
VALIDATION, RUNTIME, PARSE = "validation", "runtime", "parse"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class PipelineError(ClixenError):
    code = "pipeline"


@dataclass
class PipelineServices:
    """Everything the pipeline talks to, passed in (never imported or built at import time)."""

    session_factory: sessionmaker[Session]
    n8n: N8nClient
    llm: LLMClient | None
    catalog: NodeCatalog
    mcp: McpValidator | None
    templates: TemplateLibrary | None
    settings: Settings
    clock: Callable[[], dt.datetime] = utcnow
    # How long to watch for an execution after a deploy (a test call's run, or a quick one).
    watch_s: float = 5.0
    poll_s: float = 0.25
    # Seconds between heartbeats of a running run; recovery must wait several of them.
    heartbeat_s: float = 15.0
    owner: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")


@dataclass(frozen=True)
class ProgressEvent:
    """One step of a run, for a progress display (the Slack thread message, CLI lines)."""

    run_id: int
    step: str
    message: str
    repair_number: int = 0
    repair_cap: int = MAX_TOTAL_REPAIRS


@dataclass(frozen=True)
class RunOutcome:
    """Where a run ended up (or paused), in words a user can read."""

    run_id: int
    state: str
    message: str
    question: str | None = None
    workflow_id: int | None = None
    n8n_workflow_id: str | None = None
    version: int | None = None
    summary: str | None = None
    needs_review: bool = False
    repairs: int = 0
    tokens: int = 0
    problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.state == SUCCEEDED


Progress = Callable[[ProgressEvent], None]


# --- starting a run ---------------------------------------------------------------------------


def start_run(
    services: PipelineServices,
    *,
    team_id: str,
    user_id: str,
    project_id: int,
    request: str,
    kind: str = "create",
    workflow_id: int | None = None,
    idempotency_key: str | None = None,
    slack_channel_id: str | None = None,
    slack_thread_ts: str | None = None,
    test_sample: Mapping[str, Any] | None = None,
) -> tuple[PipelineRun, bool]:
    """The persisted run (state `queued`) for this request, and whether it was created now.

    A known `idempotency_key` returns the existing run and starts nothing (Slack retries, double
    clicks). `test_sample` is the JSON body of a test call made after deploy when the workflow
    starts with a webhook. Raises PermissionDenied, InvalidInput, NotFound.
    """
    if kind not in ("create", "edit"):
        raise InvalidInput(f"Unknown run kind {kind!r}: use create or edit.")
    if kind == "edit" and workflow_id is None:
        raise InvalidInput("An edit needs the workflow to change.")
    if idempotency_key is not None:
        existing = _run_by_key(services.session_factory, idempotency_key)
        if existing is not None:
            return existing, False
    clean = sanitize_request(request)
    with services.session_factory.begin() as session:
        require_role(
            session=session,
            project_id=project_id,
            team_id=team_id,
            user_id=user_id,
            at_least=Role.editor,
        )
        if workflow_id is not None:
            wf = session.get(Workflow, workflow_id)
            if wf is None or wf.project_id != project_id or wf.status == "deleted":
                raise NotFound(f"Workflow {workflow_id} does not exist in this project.")
            if kind == "edit" and wf.head_version < 1:
                raise InvalidInput("That workflow has no deployed version to edit yet.")
        run = PipelineRun(
            project_id=project_id,
            workflow_id=workflow_id,
            team_id=team_id,
            user_id=user_id,
            kind=kind,
            request=clean,
            state=QUEUED,
            idempotency_key=idempotency_key,
            context={"test_sample": dict(test_sample)} if test_sample is not None else {},
            slack_channel_id=slack_channel_id,
            slack_thread_ts=slack_thread_ts,
        )
        try:
            with session.begin_nested():
                session.add(run)
        except IntegrityError:
            run = None  # type: ignore[assignment]
    if run is None:
        # The same key arrived twice at once; the other request's run is the one.
        existing = _run_by_key(services.session_factory, idempotency_key or "")
        if existing is None:
            raise PipelineError("The run could not be stored; please try again.")
        return existing, False
    return run, True


def _run_by_key(factory: sessionmaker[Session], key: str) -> PipelineRun | None:
    with factory() as session:
        return session.scalar(select(PipelineRun).where(PipelineRun.idempotency_key == key))


def run_outcome(services: PipelineServices, run_id: int) -> RunOutcome:
    """Where run `run_id` stands now, without driving it."""
    return _outcome(_Ctx(services=services, run=get_run(services, run_id), progress=None))


def get_run(services: PipelineServices, run_id: int) -> PipelineRun:
    with services.session_factory() as session:
        run = session.get(PipelineRun, run_id)
        if run is None:
            raise NotFound(f"Run {run_id} does not exist.")
        return run


def list_runs(
    *,
    session: Session,
    team_id: str,
    project_id: int | None = None,
    state: str | None = None,
    limit: int = 20,
) -> list[PipelineRun]:
    """The newest runs of a workspace (optionally one project, one state), newest first."""
    stmt = select(PipelineRun).where(PipelineRun.team_id == team_id)
    if project_id is not None:
        stmt = stmt.where(PipelineRun.project_id == project_id)
    if state is not None:
        stmt = stmt.where(PipelineRun.state == state)
    return list(session.scalars(stmt.order_by(PipelineRun.id.desc()).limit(limit)))


# --- executing a run --------------------------------------------------------------------------


class _Stop(Exception):
    """Internal: the run reached a state where `execute_run` returns."""


@dataclass
class _Ctx:
    """The in-memory view of one run while it executes; `save` makes it durable."""

    services: PipelineServices
    run: PipelineRun
    progress: Progress | None

    @property
    def data(self) -> dict[str, Any]:
        return self.run.context

    def emit(self, step: str, message: str) -> None:
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
        state: str,
        *,
        detail: str | None = None,
        charge: LLMReply | None = None,
        repair_kind: str | None = None,
        extra: Callable[[Session, PipelineRun], None] | None = None,
        **fields: Any,
    ) -> None:
        """Persist the new state, the working data, the LLM charge, all in one transaction."""
        with self.services.session_factory.begin() as session:
            row = session.get(PipelineRun, self.run.id, with_for_update=True)
            assert row is not None
            row.state = state
            row.step_detail = detail
            row.context = dict(self.data)
            row.owner_pid = self.services.owner
            row.heartbeat_at = self.services.clock()
            if charge is not None:
                row.prompt_tokens += charge.prompt_tokens
                row.completion_tokens += charge.completion_tokens
                quotas.charge_tokens(
                    session=session,
                    team_id=row.team_id,
                    user_id=row.user_id,
                    project_id=row.project_id,
                    tokens=charge.total_tokens,
                )
            if repair_kind is not None:
                row.total_repairs += 1
                if repair_kind != RUNTIME:
                    row.validation_repairs += 1
            for key, value in fields.items():
                setattr(row, key, value)
            if state in FINISHED:
                row.finished_at = self.services.clock()
            if extra is not None:
                extra(session, row)
            session.flush()
            session.expunge(row)
        self.run = row


def execute_run(
    services: PipelineServices, run_id: int, progress: Progress | None = None
) -> RunOutcome:
    """Drive run `run_id` from its saved state until it succeeds, fails or asks a question."""
    run = get_run(services, run_id)
    ctx = _Ctx(services=services, run=run, progress=progress)
    if run.state in FINISHED or run.state == AWAITING_INPUT:
        return _outcome(ctx)
    stop = threading.Event()
    beat = threading.Thread(
        target=_heartbeat, args=(services, run_id, stop), name=f"run-{run_id}-heartbeat"
    )
    beat.daemon = True
    beat.start()
    try:
        while ctx.run.state in IN_PROGRESS:
            _STEPS[ctx.run.state](ctx)
    except _Stop:
        pass
    except quotas.QuotaExceeded as e:
        _fail(ctx, str(e), category="quota")
    except LLMError as e:
        _fail(ctx, f"The AI service failed: {e}", category="llm")
    except N8nError as e:
        _fail(ctx, f"n8n could not be reached or refused a call: {e}", category="n8n")
    except ClixenError as e:
        _fail(ctx, str(e), category="pipeline")
    except Exception:
        logger.exception("run %s crashed", run_id)
        _fail(ctx, "An internal error stopped this request; it was logged.", category="internal")
    finally:
        stop.set()
        beat.join(timeout=5)
    return _outcome(ctx)


def _heartbeat(services: PipelineServices, run_id: int, stop: threading.Event) -> None:
    """Keep the run's heartbeat fresh during long steps (an LLM call can take minutes), so
    recovery only ever takes runs whose process is really gone."""
    while not stop.wait(services.heartbeat_s):
        try:
            with services.session_factory.begin() as session:
                session.execute(
                    update(PipelineRun)
                    .where(
                        PipelineRun.id == run_id,
                        PipelineRun.owner_pid == services.owner,
                        PipelineRun.state.in_(IN_PROGRESS),
                    )
                    .values(heartbeat_at=services.clock())
                )
        except Exception:  # a missed beat is harmless; the next one retries
            logger.warning("heartbeat of run %s failed", run_id, exc_info=True)


def _step_queued(ctx: _Ctx) -> None:
    ctx.save(GENERATING, detail="generating")


def _project_context(ctx: _Ctx, text: str) -> PromptContext:
    with ctx.services.session_factory() as session:
        policy = policy_for_project(session=session, project_id=ctx.run.project_id)
        names = list(
            session.scalars(
                select(Secret.name).where(Secret.project_id == ctx.run.project_id).limit(50)
            )
        )
    return retrieve_context(
        text=text,
        catalog=ctx.services.catalog,
        templates=ctx.services.templates,
        secret_names=names,
        denied_types=sorted(policy.denied),
    )


def _call_llm(ctx: _Ctx, messages: list[Message]) -> LLMReply:
    """One LLM call, after checking the user still has tokens today (charged by `save`)."""
    llm = ctx.services.llm
    if llm is None:
        raise LLMNotConfigured()
    with ctx.services.session_factory.begin() as session:
        quotas.check_tokens(
            session=session,
            team_id=ctx.run.team_id,
            user_id=ctx.run.user_id,
            project_id=ctx.run.project_id,
        )
    return llm.chat(messages)


def _current_head(ctx: _Ctx) -> dict[str, Any]:
    with ctx.services.session_factory() as session:
        wf = session.get(Workflow, ctx.run.workflow_id)
        if wf is None:
            raise NotFound("The workflow to edit no longer exists.")
        version = session.scalar(
            select(WorkflowVersion).where(
                WorkflowVersion.workflow_id == wf.id, WorkflowVersion.version == wf.head_version
            )
        )
        if version is None:
            raise NotFound("The workflow to edit has no deployed version.")
        return dict(version.json_payload)


def _step_generating(ctx: _Ctx) -> None:
    ctx.emit(GENERATING, "Designing the workflow…")
    answers = list(ctx.data.get("answers", []))
    text = ctx.run.request + " " + " ".join(a["answer"] for a in answers)
    prompt_ctx = _project_context(ctx, text)
    if ctx.run.kind == "edit":
        current = ctx.data.get("base_workflow") or _current_head(ctx)
        ctx.data["base_workflow"] = current
        messages = edit_messages(
            current=current, change=ctx.run.request, ctx=prompt_ctx, answers=answers
        )
    else:
        messages = _generation_messages(request=ctx.run.request, ctx=prompt_ctx, answers=answers)
    if len(answers) >= MAX_QUESTIONS:
        messages[-1]["content"] += (
            "\nDo not ask another question: decide sensibly and return the workflow."
        )
    reply = _call_llm(ctx, messages)
    _take_reply(ctx, reply, repair_kind=None)


def _take_reply(ctx: _Ctx, reply: LLMReply, *, repair_kind: str | None) -> None:
    """Save what one LLM reply gave (candidate, question, or unusable text) with its charge."""
    try:
        parsed = parse_reply(reply.text)
    except LLMOutputInvalid as e:
        ctx.data.update(
            problems=[Issue(code="reply_not_json", message=e.reason).to_dict()],
            problem_kind=PARSE,
            bad_reply=reply.text[:600],
        )
        _need_repair(ctx, PARSE, charge=reply, repair_kind=repair_kind)
        return
    if isinstance(parsed, Question) and len(ctx.data.get("answers", [])) < MAX_QUESTIONS:
        ctx.save(
            AWAITING_INPUT,
            detail="waiting for an answer",
            charge=reply,
            repair_kind=repair_kind,
            clarifying_question=parsed.text,
        )
        ctx.emit(AWAITING_INPUT, parsed.text)
        raise _Stop
    if isinstance(parsed, Question):
        ctx.data.update(
            problems=[
                Issue(
                    code="question_instead_of_workflow",
                    message="a workflow is required now; no more questions",
                ).to_dict()
            ],
            problem_kind=PARSE,
            bad_reply=reply.text[:600],
        )
        _need_repair(ctx, PARSE, charge=reply, repair_kind=repair_kind)
        return
    assert isinstance(parsed, Candidate)
    ctx.data.update(
        candidate=parsed.workflow,
        summary=parsed.summary or ctx.data.get("summary", ""),
        problems=[],
        problem_kind=None,
        bad_reply=None,
    )
    ctx.save(VALIDATING, detail="validating", charge=reply, repair_kind=repair_kind)


def _need_repair(
    ctx: _Ctx, kind: str, *, charge: LLMReply | None = None, repair_kind: str | None = None
) -> None:
    """Go to `repairing` if the caps allow another repair of this kind, else fail the run."""
    total = ctx.run.total_repairs + (1 if repair_kind else 0)
    validation = ctx.run.validation_repairs + (1 if repair_kind and repair_kind != RUNTIME else 0)
    capped = total >= MAX_TOTAL_REPAIRS or (
        kind != RUNTIME and validation >= MAX_VALIDATION_REPAIRS
    )
    if not capped:
        ctx.save(
            REPAIRING,
            detail=f"repair {total + 1} of {MAX_TOTAL_REPAIRS}",
            charge=charge,
            repair_kind=repair_kind,
        )
        return
    # Save the charge and counters first so the failure below reflects the real spend.
    ctx.save(ctx.run.state, detail=ctx.run.step_detail, charge=charge, repair_kind=repair_kind)
    problems = [Issue.from_dict(p) for p in ctx.data.get("problems", [])]
    _fail(
        ctx,
        _cap_message(ctx, kind, problems),
        category="repair_cap",
        needs_review=True,
    )
    raise _Stop


def _cap_message(ctx: _Ctx, kind: str, problems: list[Issue]) -> str:
    which = (
        f"{MAX_TOTAL_REPAIRS} repairs in all"
        if ctx.run.total_repairs >= MAX_TOTAL_REPAIRS or kind == RUNTIME
        else f"{MAX_VALIDATION_REPAIRS} repairs of validation errors"
    )
    lines = [f"I could not build a working workflow after {which}. What is still wrong:"]
    lines += [f"• {_plain(p)}" for p in problems[:8]]
    if len(problems) > 8:
        lines.append(f"• …and {len(problems) - 8} more")
    deployed = ctx.data.get("deployed") or []
    if deployed:
        lines.append(
            f"Version {deployed[-1]['version']} is deployed but fails when it runs; "
            "you can roll back to an earlier version."
        )
    lines.append("The case was logged for a manual review. Rephrasing the request may help.")
    return "\n".join(lines)


def _plain(p: Issue) -> str:
    where = f"{p.node}: " if p.node else ""
    return f"{where}{p.message}"


def _step_repairing(ctx: _Ctx) -> None:
    kind = ctx.data.get("problem_kind") or VALIDATION
    number = ctx.run.total_repairs + 1
    ctx.emit(REPAIRING, f"Repairing ({number} of {MAX_TOTAL_REPAIRS})…")
    problems = [Issue.from_dict(p) for p in ctx.data.get("problems", [])]
    prompt_ctx = _project_context(ctx, ctx.run.request)
    messages = _repair_messages(
        request=ctx.run.request,
        workflow=ctx.data.get("candidate"),
        problems=problems,
        kind=kind,
        ctx=prompt_ctx,
        bad_reply=ctx.data.get("bad_reply"),
    )
    reply = _call_llm(ctx, messages)
    _take_reply(ctx, reply, repair_kind=kind)


def _step_validating(ctx: _Ctx) -> None:
    ctx.emit(VALIDATING, "Checking the workflow…")
    candidate = ctx.data.get("candidate")
    if not isinstance(candidate, dict):
        raise PipelineError("The run lost its candidate workflow.")
    fixed, fixes = apply_deterministic_fixes(
        candidate, known_versions=known_versions(ctx.services.catalog)
    )
    if fixes:
        ctx.data["fixes"] = [*ctx.data.get("fixes", []), *fixes][-40:]
    ctx.data["candidate"] = fixed
    problems = _validate(ctx, fixed)
    if problems:
        ctx.data.update(problems=[p.to_dict() for p in problems], problem_kind=VALIDATION)
        _need_repair(ctx, VALIDATION)
        return
    ctx.save(DEPLOYING, detail="deploying")


def _validate(ctx: _Ctx, wf: dict[str, Any]) -> list[Issue]:
    """The errors (not warnings) our validator, combined with n8n-mcp's verdict, finds."""
    with ctx.services.session_factory() as session:
        policy = policy_for_project(session=session, project_id=ctx.run.project_id)
    report = validate(wf, catalog=ctx.services.catalog, policy=policy)
    if ctx.services.mcp is not None:
        # n8n-mcp's verdict counts only through the rule `combine` documents.
        try:
            verdict = ctx.services.mcp.validate(wf)
        except McpUnavailable:
            logger.warning("n8n-mcp unavailable for run %s; our validator alone", ctx.run.id)
            verdict = None
        report = combine(report, verdict)
    errors = report.errors
    if not errors:
        return []
    # n8n-mcp's findings never block, but next to real errors they can help the repair.
    extra = [i for i in report.warnings if i.code == MCP_ISSUE_CODE][:5]
    return [i for i in [*errors, *extra]]


def _step_deploying(ctx: _Ctx) -> None:
    from core import deploy

    candidate = ctx.data["candidate"]
    digest = checksum(candidate)
    if ctx.data.get("deployed") or ctx.run.kind == "repair":
        source = "repair"
    else:
        source = "edit" if ctx.run.kind == "edit" else "generate"
    if ctx.run.workflow_id is None:
        _create_record(ctx, candidate)
    assert ctx.run.workflow_id is not None
    ctx.emit(DEPLOYING, "Deploying to n8n…")
    ctx.data["watch_after"] = _newest_execution_id(ctx)
    try:
        version = deploy.deploy_version(
            session_factory=ctx.services.session_factory,
            n8n=ctx.services.n8n,
            workflow_id=ctx.run.workflow_id,
            json_payload=candidate,
            source=source,
            actor=Actor(team_id=ctx.run.team_id, user_id=ctx.run.user_id),
            prompt=ctx.run.request,
            run_id=ctx.run.id,
            # The same candidate of the same run deploys once, even when a resumed run retries.
            idempotency_key=f"run:{ctx.run.id}:{digest}",
            settings=ctx.services.settings,
        )
    except deploy.ValidationFailed as e:
        problems = list(e.report.errors)
        ctx.data.update(problems=[p.to_dict() for p in problems], problem_kind=VALIDATION)
        _need_repair(ctx, VALIDATION)
        return
    except deploy.DeployFailed as e:
        ctx.data.update(
            problems=[Issue(code="n8n_rejected", message=e.n8n_message).to_dict()],
            problem_kind=VALIDATION,
        )
        _need_repair(ctx, VALIDATION)
        return
    deployed = [d for d in ctx.data.get("deployed", []) if d.get("checksum") != digest]
    deployed.append({"version": version.version, "checksum": digest})
    ctx.data["deployed"] = deployed
    ctx.save(WATCHING, detail=f"watching version {version.version}")


def _create_record(ctx: _Ctx, candidate: Mapping[str, Any]) -> None:
    """Create the product's workflow row and link it to the run in one transaction."""
    from core import deploy

    name = str(candidate.get("name") or ctx.data.get("summary") or ctx.run.request).strip()

    def create(session: Session, row: PipelineRun) -> None:
        wf = deploy.create_workflow_record(
            session=session,
            project_id=row.project_id,
            name=name[:200] or "Workflow",
            description=ctx.data.get("summary") or None,
            created_by=row.user_id,
            slack_channel_id=row.slack_channel_id,
            slack_thread_ts=row.slack_thread_ts,
        )
        row.workflow_id = wf.id

    # Saved at once: a crash after this point reuses the record instead of creating another.
    ctx.save(DEPLOYING, detail="deploying", extra=create)


def _n8n_id(ctx: _Ctx) -> str | None:
    if ctx.run.workflow_id is None:
        return None
    with ctx.services.session_factory() as session:
        wf = session.get(Workflow, ctx.run.workflow_id)
        return wf.n8n_workflow_id if wf else None


def _newest_execution_id(ctx: _Ctx) -> str | None:
    n8n_id = _n8n_id(ctx)
    if n8n_id is None:
        return None
    page = ctx.services.n8n.list_executions(workflow_id=n8n_id, limit=1)
    return str(page.items[0]["id"]) if page.items else None


def _webhook_path(wf: Mapping[str, Any]) -> tuple[str, str] | None:
    for node in wf.get("nodes") or []:
        if isinstance(node, dict) and node.get("type") == "n8n-nodes-base.webhook":
            params = node.get("parameters") or {}
            path = params.get("path") or node.get("webhookId")
            if path:
                return str(path), str(params.get("httpMethod") or "GET")
    return None


def _step_watching(ctx: _Ctx) -> None:
    n8n_id = _n8n_id(ctx)
    assert n8n_id is not None
    candidate = ctx.data.get("candidate") or {}
    sample = ctx.data.get("test_sample")
    hook = _webhook_path(candidate)
    failure = None
    if sample is not None and hook is not None:
        ctx.emit(WATCHING, "Test-running it with the sample call…")
    elif ctx.services.watch_s > 0:
        ctx.emit(WATCHING, "Watching the first executions…")
    if ctx.services.watch_s > 0 or (sample is not None and hook is not None):
        execution = _watch_execution(ctx, n8n_id, sample if hook else None, hook)
        if execution is not None:
            ctx.data["last_execution"] = {
                "id": str(execution.get("id")),
                "status": str(execution.get("status")),
            }
            failure = execution_failure(execution)
    if failure is not None:
        ctx.data.update(
            problems=[
                Issue(code="execution_failed", message=failure.message, node=failure.node).to_dict()
            ],
            problem_kind=RUNTIME,
            runtime_failures=[
                *ctx.data.get("runtime_failures", []),
                {"node": failure.node, "message": failure.message[:300]},
            ],
        )
        ctx.emit(WATCHING, f"A test run failed at {failure.node or 'a node'}: {failure.message}")
        _need_repair(ctx, RUNTIME)
        return
    _succeed(ctx)


# Test calls per watch: n8n 2.x can serve a call with the previous version while it republishes.
MAX_TEST_CALLS = 3


def _watch_execution(
    ctx: _Ctx,
    n8n_id: str,
    sample: Mapping[str, Any] | None,
    hook: tuple[str, str] | None,
) -> dict[str, Any] | None:
    return _await_execution(
        ctx.services,
        n8n_id,
        candidate=ctx.data.get("candidate") or {},
        after=ctx.data.get("watch_after"),
        sample=sample,
        hook=hook,
    )


def _await_execution(
    services: PipelineServices,
    n8n_id: str,
    *,
    candidate: Mapping[str, Any],
    after: str | None,
    sample: Mapping[str, Any] | None,
    hook: tuple[str, str] | None,
) -> dict[str, Any] | None:
    """The first finished execution of `candidate` newer than `after` (after a test call when
    `sample` is given), or None when none finishes within the watch window."""
    n8n = services.n8n
    window = services.watch_s if sample is None else max(services.watch_s, 15.0)
    deadline = time.monotonic() + window
    calls = 0
    while True:
        if sample is not None and hook is not None and calls < MAX_TEST_CALLS:
            path, method = hook
            n8n.call_webhook(path, method=method, json=dict(sample))
            calls += 1
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        execution = n8n.wait_for_execution(
            n8n_id, after_id=after, timeout_s=remaining, poll_s=services.poll_s
        )
        if execution is None:
            return None
        if not _ran_candidate(execution, candidate):
            # n8n served the call with the previous version while republishing (it even labels
            # it with the new version id): look past it, and call again if we are testing.
            after = str(execution.get("id"))
            time.sleep(services.poll_s)
            continue
        return execution


def _ran_candidate(execution: Mapping[str, Any], candidate: Mapping[str, Any]) -> bool:
    """Whether the execution ran `candidate`: every parameter we sent is what n8n executed
    (n8n adds defaults, so extra keys on its side are fine)."""
    ran = execution.get("workflowData") or {}
    nodes = {n.get("name"): n for n in ran.get("nodes") or [] if isinstance(n, dict)}
    if not nodes:
        return True  # nothing to compare with: trust the listing
    for node in candidate.get("nodes") or []:
        got = nodes.get(node.get("name"))
        if got is None:
            return False
        params = got.get("parameters") or {}
        for key, value in (node.get("parameters") or {}).items():
            if params.get(key) != value:
                return False
    return True


def _succeed(ctx: _Ctx) -> None:
    deployed = ctx.data.get("deployed") or []
    version = deployed[-1]["version"] if deployed else None

    def record(session: Session, row: PipelineRun) -> None:
        telemetry.record(
            session=session,
            type=telemetry.WORKFLOW_CREATED if row.kind == "create" else telemetry.DEPLOYED,
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

    ctx.save(SUCCEEDED, detail=f"version {version} deployed", extra=record, error=None)
    ctx.emit(SUCCEEDED, _success_message(ctx))


def _success_message(ctx: _Ctx) -> str:
    deployed = ctx.data.get("deployed") or []
    version = deployed[-1]["version"] if deployed else "?"
    name = (ctx.data.get("candidate") or {}).get("name") or "The workflow"
    parts = [f"{name} is deployed and active (version {version})."]
    if ctx.data.get("summary"):
        parts.append(str(ctx.data["summary"]))
    failures = ctx.data.get("runtime_failures") or []
    if failures:
        f = failures[-1]
        parts.append(
            f"A test run had failed at {f.get('node') or 'a node'} ({f.get('message')}); "
            f"it was repaired and redeployed."
        )
    last = ctx.data.get("last_execution")
    if last and last.get("status") == "success":
        parts.append("Its test run succeeded.")
    return " ".join(parts)


def _fail(ctx: _Ctx, message: str, *, category: str, needs_review: bool = False) -> None:
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
            ctx.run.id,
            ctx.run.total_repairs,
            ctx.run.validation_repairs,
        )
    ctx.save(
        FAILED,
        detail=category,
        extra=record,
        error=message,
        needs_review=needs_review or ctx.run.needs_review,
    )
    ctx.emit(FAILED, message)


def _outcome(ctx: _Ctx) -> RunOutcome:
    run = ctx.run
    deployed = run.context.get("deployed") or []
    n8n_id = _n8n_id(ctx)
    if run.state == SUCCEEDED:
        message = _success_message(ctx)
    elif run.state == AWAITING_INPUT:
        message = run.clarifying_question or ""
    elif run.state == FAILED:
        message = run.error or "The request failed."
    else:
        message = f"The request is {run.state}."
    return RunOutcome(
        run_id=run.id,
        state=run.state,
        message=message,
        question=run.clarifying_question if run.state == AWAITING_INPUT else None,
        workflow_id=run.workflow_id,
        n8n_workflow_id=n8n_id,
        version=deployed[-1]["version"] if deployed else None,
        summary=run.context.get("summary") or None,
        needs_review=run.needs_review,
        repairs=run.total_repairs,
        tokens=run.prompt_tokens + run.completion_tokens,
        problems=tuple(_plain(Issue.from_dict(p)) for p in run.context.get("problems") or []),
    )


_STEPS: dict[str, Callable[[_Ctx], None]] = {
    QUEUED: _step_queued,
    GENERATING: _step_generating,
    REPAIRING: _step_repairing,
    VALIDATING: _step_validating,
    DEPLOYING: _step_deploying,
    WATCHING: _step_watching,
}


# --- answers, test runs, recovery -------------------------------------------------------------


def answer_question(
    services: PipelineServices,
    run_id: int,
    answer: str,
    progress: Progress | None = None,
    *,
    user_id: str | None = None,
) -> RunOutcome:
    """Continue a run that asked a clarifying question, with the user's answer."""
    clean = sanitize_request(answer)
    with services.session_factory.begin() as session:
        run = session.get(PipelineRun, run_id, with_for_update=True)
        if run is None:
            raise NotFound(f"Run {run_id} does not exist.")
        if user_id is not None and run.user_id != user_id:
            raise InvalidInput("Only the person who made the request can answer its question.")
        if run.state != AWAITING_INPUT:
            raise InvalidInput(f"Run {run_id} is not waiting for an answer (it is {run.state}).")
        answers = [
            *run.context.get("answers", []),
            {"question": run.clarifying_question or "", "answer": clean},
        ]
        run.context = {**run.context, "answers": answers}
        run.clarifying_question = None
        run.state = GENERATING
        run.heartbeat_at = services.clock()
        run.owner_pid = services.owner
    return execute_run(services, run_id, progress)


@dataclass(frozen=True)
class TestRunResult:
    """The execution a test call produced: status `success`, `error` or `unknown` (none seen)."""

    __test__ = False  # not a pytest test class, despite the name

    status: str
    execution_id: str | None = None
    node: str | None = None
    message: str = ""


def test_run(
    services: PipelineServices, *, workflow_id: int, sample: Mapping[str, Any] | None
) -> TestRunResult:
    """Call a deployed webhook workflow once with `sample` and report the execution it caused.

    Raises NotFound when it is not deployed, InvalidInput when it does not start with a webhook.
    """
    with services.session_factory() as session:
        wf = session.get(Workflow, workflow_id)
        if wf is None or wf.n8n_workflow_id is None:
            raise NotFound(f"Workflow {workflow_id} is not deployed.")
        version = session.scalar(
            select(WorkflowVersion).where(
                WorkflowVersion.workflow_id == wf.id, WorkflowVersion.version == wf.head_version
            )
        )
        n8n_id = wf.n8n_workflow_id
    hook = _webhook_path(version.json_payload if version else {})
    if hook is None:
        raise InvalidInput("Only a workflow that starts with a webhook can be test-run on request.")
    page = services.n8n.list_executions(workflow_id=n8n_id, limit=1)
    after = str(page.items[0]["id"]) if page.items else None
    execution = _await_execution(
        services,
        n8n_id,
        candidate=version.json_payload if version else {},
        after=after,
        sample=dict(sample or {}),
        hook=hook,
    )
    if execution is None:
        return TestRunResult(status="unknown", message="no execution was seen")
    failure = execution_failure(execution)
    return TestRunResult(
        status="error" if failure else str(execution.get("status")),
        execution_id=str(execution.get("id")),
        node=failure.node if failure else None,
        message=failure.message if failure else "",
    )


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
    """
    if services.llm is None:
        return "Automatic repair needs the AI service, which is not configured here."
    key = f"runtime:{workflow_id}:{failure.execution_id}"
    existing = _run_by_key(services.session_factory, key)
    if existing is not None:
        return f"A repair of this error already ran (run {existing.id}, {existing.state})."
    with services.session_factory.begin() as session:
        wf = session.get(Workflow, workflow_id)
        if wf is None or wf.status == "deleted" or wf.head_version < 1:
            raise NotFound(f"Workflow {workflow_id} has no deployed version to repair.")
        head = session.scalar(
            select(WorkflowVersion).where(
                WorkflowVersion.workflow_id == wf.id, WorkflowVersion.version == wf.head_version
            )
        )
        project = session.get(Project, wf.project_id)
        assert head is not None and project is not None
        if not _failed_on(services, failure, head.json_payload):
            logger.info(
                "execution %s of workflow %s ran a replaced version; not repaired",
                failure.execution_id,
                wf.id,
            )
            return None
        spent_total, spent_validation = _repairs_spent(session, wf)
        problem = Issue(code="execution_failed", message=failure.message, node=failure.node)
        run = PipelineRun(
            project_id=wf.project_id,
            workflow_id=wf.id,
            team_id=project.team_id,
            user_id=wf.created_by,
            kind="repair",
            request=f"Fix the runtime error of workflow {wf.name!r}.",
            state=REPAIRING,
            idempotency_key=key,
            total_repairs=spent_total,
            validation_repairs=spent_validation,
            context={
                "candidate": dict(head.json_payload),
                "problems": [problem.to_dict()],
                "problem_kind": RUNTIME,
                "runtime_failures": [{"node": failure.node, "message": failure.message[:300]}],
            },
            slack_channel_id=wf.slack_channel_id,
            slack_thread_ts=wf.slack_thread_ts,
            owner_pid=services.owner,
            heartbeat_at=services.clock(),
        )
        if spent_total >= MAX_TOTAL_REPAIRS:
            return _needs_review(services, session, run, wf.head_version)
        try:
            with session.begin_nested():
                session.add(run)
        except IntegrityError:
            return "A repair of this error is already under way."
    outcome = execute_run(services, run.id, progress)
    if outcome.ok:
        return f"I repaired it and deployed version {outcome.version} (run {outcome.run_id})."
    return f"I could not repair it automatically (run {outcome.run_id}): {outcome.message}"


def _failed_on(
    services: PipelineServices, failure: ExecutionFailure, head: Mapping[str, Any]
) -> bool:
    """Whether the failed execution ran the head version (not one a repair already replaced)."""
    try:
        execution = services.n8n.get_execution(failure.execution_id, include_data=True)
    except N8nError:
        return True  # cannot tell: repairing the head is the safe side
    return _ran_candidate(execution, head)


def _repairs_spent(session: Session, wf: Workflow) -> tuple[int, int]:
    """(all, validation) repairs spent since the last version a person asked for."""
    base = session.scalar(
        select(WorkflowVersion)
        .where(
            WorkflowVersion.workflow_id == wf.id,
            WorkflowVersion.source != "repair",
            WorkflowVersion.status.in_(("deployed", "superseded")),
        )
        .order_by(WorkflowVersion.version.desc())
        .limit(1)
    )
    stmt = select(PipelineRun).where(PipelineRun.workflow_id == wf.id, PipelineRun.kind == "repair")
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
    run.state = FAILED
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
    telemetry.record(
        session=session,
        type=telemetry.ERROR,
        team_id=run.team_id,
        user_id=run.user_id,
        project_id=run.project_id,
        workflow_id=run.workflow_id,
        category="repair_cap",
        properties={"kind": "repair", "repairs": run.total_repairs, "version": version},
    )
    logger.warning(
        "workflow %s v%s keeps failing after %s repairs; needs manual review (run %s)",
        run.workflow_id,
        version,
        run.total_repairs,
        run.id,
    )
    return f"{run.error} (run {run.id})"


test_run.__test__ = False  # type: ignore[attr-defined]  # pytest must not collect it


def resume_incomplete_runs(
    services: PipelineServices, *, older_than_s: float, progress: Progress | None = None
) -> list[RunOutcome]:
    """Resume (or, when unsafe, fail with a message) runs whose process stopped mid-way.

    A run qualifies when it is in progress and its heartbeat is older than `older_than_s`. Each is
    claimed with a compare-and-set on its heartbeat, so two recovering processes never take the
    same run. Runs that need the LLM are failed with an explanation when none is configured.
    """
    cutoff = services.clock() - dt.timedelta(seconds=older_than_s)
    with services.session_factory() as session:
        stale = list(
            session.execute(
                select(PipelineRun.id, PipelineRun.heartbeat_at, PipelineRun.state).where(
                    PipelineRun.state.in_(IN_PROGRESS),
                    (PipelineRun.heartbeat_at < cutoff)
                    | (PipelineRun.heartbeat_at.is_(None) & (PipelineRun.updated_at < cutoff)),
                )
            )
        )
    outcomes: list[RunOutcome] = []
    for run_id, heartbeat, state in stale:
        if not _claim(services, run_id, heartbeat):
            continue
        logger.info("resuming run %s from state %s", run_id, state)
        needs_llm = state in (QUEUED, GENERATING, REPAIRING)
        if needs_llm and services.llm is None:
            ctx = _Ctx(services=services, run=get_run(services, run_id), progress=progress)
            _fail(
                ctx,
                "This request was interrupted by a restart and cannot continue without the AI "
                "service. Please ask again.",
                category="interrupted",
            )
            outcomes.append(_outcome(ctx))
            continue
        outcomes.append(execute_run(services, run_id, progress))
    return outcomes


def _claim(services: PipelineServices, run_id: int, heartbeat: dt.datetime | None) -> bool:
    with services.session_factory.begin() as session:
        cond = (
            PipelineRun.heartbeat_at.is_(None)
            if heartbeat is None
            else PipelineRun.heartbeat_at == heartbeat
        )
        result = session.execute(
            update(PipelineRun)
            .where(PipelineRun.id == run_id, cond, PipelineRun.state.in_(IN_PROGRESS))
            .values(heartbeat_at=services.clock(), owner_pid=services.owner)
        )
        return bool(getattr(result, "rowcount", 0))
