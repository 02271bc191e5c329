"""Pipeline runs as Slack sees them: one thread per request, one progress message updated at
each step, then the summary (with a picture of the workflow) or the question or the failure."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from sqlalchemy import select

from bot.blocks.common import escape
from bot.blocks.run import (
    failure_blocks,
    n8n_link,
    progress_blocks,
    progress_text,
    question_blocks,
    summary_blocks,
)
from bot.graph import render_png, text_outline, workflow_graph
from bot.services import BotServices
from core.errors import ClixenError, LLMNotConfigured
from core.models import PipelineRun, Workflow
from core.pipeline import (
    ProgressEvent,
    RunOutcome,
    answer_question,
    execute_run,
    start_run,
    test_run,
)
from core.projects import Role, default_project, require_role
from core.safety import sanitize_request
from core.workflows import get_version, get_workflow

log = logging.getLogger(__name__)

# Steps whose display is the final outcome message, not a progress update.
OUTCOME_STEPS = {"succeeded", "failed", "awaiting_input"}


@dataclass(frozen=True)
class Thread:
    channel: str
    ts: str


@dataclass
class SlackProgress:
    """Receives the pipeline's ProgressEvents and shows each one by editing the run's message."""

    client: WebClient
    channel: str
    message_ts: str
    request: str

    def __call__(self, event: ProgressEvent) -> None:
        if event.step in OUTCOME_STEPS:
            return
        # While repairing, the event counts repairs finished so far; show the one under way.
        number = event.repair_number + 1 if event.step == "repairing" else event.repair_number
        try:
            self.client.chat_update(
                channel=self.channel,
                ts=self.message_ts,
                text=progress_text(event.step, number, event.repair_cap),
                blocks=progress_blocks(
                    request=self.request,
                    step=event.step,
                    message=event.message,
                    repair_number=number,
                    repair_cap=event.repair_cap,
                ),
            )
        except Exception:  # progress is cosmetic: never let Slack break the run
            log.warning("could not update the progress message", exc_info=True)


def start_request(
    services: BotServices,
    client: WebClient,
    *,
    team_id: str,
    user_id: str,
    channel_id: str,
    thread_ts: str | None,
    text: str,
    idempotency_key: str,
    workflow_id: int | None = None,
) -> int | None:
    """Start a create run (or an edit of `workflow_id`) and its background work; returns the run
    id, or None when this key already started one (a retry or a double submit)."""
    if not services.settings.llm_configured or services.pipeline is None:
        raise LLMNotConfigured()
    request = sanitize_request(text)
    with services.session_factory.begin() as session:
        if workflow_id is not None:
            wf = get_workflow(
                session=session,
                workflow_id=workflow_id,
                team_id=team_id,
                user_id=user_id,
                at_least=Role.editor,
            )
            project_id = wf.project_id
        else:
            project_id = default_project(session=session, team_id=team_id, user_id=user_id).id
            require_role(
                session=session,
                project_id=project_id,
                team_id=team_id,
                user_id=user_id,
                at_least=Role.editor,
            )
    if thread_ts is None:
        root = client.chat_postMessage(
            channel=channel_id, text=f"<@{user_id}> asked Clixen: {escape(request)}"
        )
        thread_ts = str(root["ts"])
    run, created = start_run(
        services.pipeline,
        team_id=team_id,
        user_id=user_id,
        project_id=project_id,
        request=request,
        kind="edit" if workflow_id is not None else "create",
        workflow_id=workflow_id,
        idempotency_key=idempotency_key,
        slack_channel_id=channel_id,
        slack_thread_ts=thread_ts,
    )
    if not created:
        return None
    message = client.chat_postMessage(
        channel=channel_id,
        thread_ts=thread_ts,
        text=progress_text("understanding"),
        blocks=progress_blocks(request=request, step="understanding"),
    )
    message_ts = str(message["ts"])
    with services.session_factory.begin() as session:
        row = session.get(PipelineRun, run.id)
        assert row is not None
        row.slack_message_ts = message_ts
    services.submit(
        execute_in_background, services, client, run.id, Thread(channel_id, message_ts), request
    )
    return int(run.id)


def answer(
    services: BotServices, client: WebClient, *, run_id: int, user_id: str, text: str
) -> None:
    """Hand the user's reply to the run's pending question; the run carries on in the background."""
    with services.session_factory.begin() as session:
        run = session.get(PipelineRun, run_id)
        assert run is not None
        channel, message_ts, request = run.slack_channel_id, run.slack_message_ts, run.request
    if not channel or not message_ts:
        return
    message = Thread(channel, message_ts)
    progress = SlackProgress(client, channel, message_ts, request)

    def work() -> RunOutcome:
        return answer_question(services.pipeline, run_id, text, progress, user_id=user_id)

    services.submit(_drive, services, client, run_id, message, request, work)


def execute_in_background(
    services: BotServices, client: WebClient, run_id: int, message: Thread, request: str
) -> None:
    """Run the pipeline (on a run worker), then replace the progress message with the outcome."""
    progress = SlackProgress(client, message.channel, message.ts, request)
    _drive(
        services,
        client,
        run_id,
        message,
        request,
        lambda: execute_run(services.pipeline, run_id, progress),
    )


def _drive(
    services: BotServices, client: WebClient, run_id: int, message: Thread, request: str, work: Any
) -> None:
    try:
        outcome = work()
    except ClixenError as e:  # e.g. an answer to a question that was already answered
        client.chat_postMessage(
            channel=message.channel, thread_ts=_thread_of(services, run_id), text=str(e)
        )
        return
    except Exception as e:
        error_id = uuid.uuid4().hex[:8]
        log.error("run %s failed unexpectedly (error id %s)", run_id, error_id, exc_info=e)
        client.chat_update(
            channel=message.channel,
            ts=message.ts,
            text="The run failed.",
            blocks=failure_blocks(
                request=request, error=f"an internal error (id {error_id})", needs_review=True
            ),
        )
        return
    report_outcome(services, client, outcome=outcome, message=message, request=request)


def report_outcome(
    services: BotServices, client: WebClient, *, outcome: RunOutcome, message: Thread, request: str
) -> None:
    """The final form of the run's message: summary (+ picture), question, or failure."""
    if outcome.state == "awaiting_input" and outcome.question:
        client.chat_update(
            channel=message.channel,
            ts=message.ts,
            text=outcome.question,
            blocks=question_blocks(request=request, question=outcome.question),
        )
        return
    if not outcome.ok or outcome.workflow_id is None or outcome.version is None:
        client.chat_update(
            channel=message.channel,
            ts=message.ts,
            text=f"Failed: {outcome.message}",
            blocks=failure_blocks(
                request=request, error=outcome.message, needs_review=outcome.needs_review
            ),
        )
        return
    with services.session_factory.begin() as session:
        wf = session.get(Workflow, outcome.workflow_id)
        assert wf is not None
        name, n8n_id, thread = wf.name, wf.n8n_workflow_id, wf.slack_thread_ts
        payload = get_version(
            session=session, workflow_id=wf.id, version=outcome.version
        ).json_payload
    graph = workflow_graph(payload)
    outline = text_outline(graph)
    has_webhook = any(t.endswith(".webhook") for t in graph.types.values())
    base = services.n8n_base_url()
    url = n8n_link(base, n8n_id) if base and n8n_id else None
    client.chat_update(
        channel=message.channel,
        ts=message.ts,
        text=f"{name} is active (version {outcome.version})",
        blocks=summary_blocks(
            workflow_id=outcome.workflow_id,
            name=name,
            version=outcome.version,
            description=outcome.summary,
            outline=outline,
            has_webhook=has_webhook,
            n8n_url=url,
        ),
    )
    try:
        client.files_upload_v2(
            channel=message.channel,
            thread_ts=thread or _thread_of(services, outcome.run_id),
            content=render_png(graph),
            filename=f"workflow-{outcome.workflow_id}-v{outcome.version}.png",
            title=f"{name} v{outcome.version}",
            alt_txt=" ; ".join(outline)[:1000],
        )
    except Exception:  # the text outline above already shows the flow
        log.warning("could not upload the workflow picture", exc_info=True)


def test_webhook(services: BotServices, *, team_id: str, user_id: str, workflow_id: int) -> str:
    """Call the workflow's webhook once (editors only) and say what its execution did."""
    with services.session_factory.begin() as session:
        get_workflow(
            session=session,
            workflow_id=workflow_id,
            team_id=team_id,
            user_id=user_id,
            at_least=Role.editor,
        )
    result = test_run(services.pipeline, workflow_id=workflow_id, sample={})
    if result.status == "success":
        return f":white_check_mark: Test run succeeded (execution {result.execution_id})."
    if result.status == "error":
        return f":x: Test run failed at {result.node or 'a node'}: {result.message}"
    return f"Test run sent; {result.message or 'no execution seen yet'}."


def _thread_of(services: BotServices, run_id: int) -> str | None:
    with services.session_factory.begin() as session:
        run = session.get(PipelineRun, run_id)
        return run.slack_thread_ts if run else None


def thread_target(
    services: BotServices, *, team_id: str, channel: str, thread_ts: str
) -> tuple[str, int] | None:
    """What a reply in this thread is about: ("answer", run id) for a run waiting on a question,
    ("edit", workflow id) for a workflow made in this thread, else None."""
    with services.session_factory.begin() as session:
        run_id = session.scalar(
            select(PipelineRun.id)
            .where(
                PipelineRun.team_id == team_id,
                PipelineRun.slack_channel_id == channel,
                PipelineRun.slack_thread_ts == thread_ts,
                PipelineRun.state == "awaiting_input",
            )
            .order_by(PipelineRun.id.desc())
            .limit(1)
        )
        if run_id is not None:
            return "answer", int(run_id)
        wf_id = session.scalar(
            select(Workflow.id)
            .where(
                Workflow.slack_channel_id == channel,
                Workflow.slack_thread_ts == thread_ts,
                Workflow.status != "deleted",
            )
            .order_by(Workflow.id.desc())
            .limit(1)
        )
        if wf_id is None:
            run_wf = session.scalar(
                select(PipelineRun.workflow_id)
                .where(
                    PipelineRun.team_id == team_id,
                    PipelineRun.slack_channel_id == channel,
                    PipelineRun.slack_thread_ts == thread_ts,
                    PipelineRun.workflow_id.is_not(None),
                )
                .order_by(PipelineRun.id.desc())
                .limit(1)
            )
            wf_id = run_wf
    return ("edit", int(wf_id)) if wf_id is not None else None
