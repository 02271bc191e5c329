"""Pipeline runs as Slack sees them: one thread per request, one progress message updated at
each step, then the summary (with a picture of the workflow) or the question or the failure."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks.credentials import (
    CredentialAsk,
    credentials_needed_blocks,
    credentials_needed_text,
)
from bot.blocks.run_message import (
    failure_blocks,
    failure_text,
    n8n_link,
    notice_text,
    progress_blocks,
    progress_text,
    question_blocks,
    question_text,
    request_root_text,
    summary_blocks,
    summary_text,
)
from bot.blocks.triggers import listens_in, runs_by_hand
from bot.channels import bot_scopes, join_channels
from bot.pictures import post_picture, version_layout
from bot.services import BotServices
from core.conversation.threads import (
    ThreadTarget,
    find_run_thread,
    find_thread_target,
    set_run_message,
)
from core.deploy.workflows import find_workflow, get_version
from core.graph import text_outline, workflow_graph
from core.kernel.errors import ClixenError, LLMNotConfigured, NotFound
from core.kernel.vocabulary import IN_PROGRESS, RunKind, RunState
from core.pipeline import (
    ProgressEvent,
    RunOutcome,
    answer_question,
    execute_run,
    start_run,
)
from core.pipeline.credential_wait import credential_choices
from core.pipeline.resume import provide_credentials
from core.workspace.projects import default_project

log = logging.getLogger(__name__)

# Steps whose display is the final outcome message, not a progress update.
OUTCOME_STEPS = {
    RunState.succeeded,
    RunState.failed,
    RunState.awaiting_input,
    RunState.awaiting_credentials,
}


@dataclass(frozen=True)
class ProgressMessage:
    """The run's one message in its thread: updated at each step, then replaced by the outcome."""

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
        number = (
            event.repair_number + 1 if event.step == RunState.repairing else event.repair_number
        )
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
    id, or None when this key already started one (a retry or a double submit).

    `start_run` sanitises the request and checks the user may edit the project, before anything
    is posted; without `thread_ts` the run's thread is opened after that.
    """
    if not services.settings.llm_configured or services.pipeline is None:
        raise LLMNotConfigured()
    with services.session_factory.begin() as session:
        if workflow_id is not None:
            wf = find_workflow(session=session, workflow_id=workflow_id)
            if wf is None:
                raise NotFound(f"There is no workflow #{workflow_id}.")
            project_id = wf.project_id
        else:
            project_id = default_project(session=session, team_id=team_id, user_id=user_id).id
    run, created = start_run(
        services.pipeline,
        team_id=team_id,
        user_id=user_id,
        project_id=project_id,
        request=text,
        kind=RunKind.edit if workflow_id is not None else RunKind.create,
        workflow_id=workflow_id,
        idempotency_key=idempotency_key,
        slack_channel_id=channel_id,
        slack_thread_ts=thread_ts,
        timezone=requester_timezone(client, user_id),
    )
    if not created:
        return None
    request = run.request  # as sanitised
    opened = None
    if thread_ts is None:
        root = client.chat_postMessage(channel=channel_id, text=request_root_text(user_id, request))
        thread_ts = opened = str(root["ts"])
    message = client.chat_postMessage(
        channel=channel_id,
        thread_ts=thread_ts,
        text=progress_text("understanding"),
        blocks=progress_blocks(request=request, step="understanding"),
    )
    message_ts = str(message["ts"])
    with services.session_factory.begin() as session:
        recorded = set_run_message(
            session=session, run_id=run.id, message_ts=message_ts, thread_ts=opened
        )
        assert recorded
    services.submit(
        execute_in_background,
        services,
        client,
        run.id,
        ProgressMessage(channel_id, message_ts),
        request,
    )
    return int(run.id)


def answer(
    services: BotServices, client: WebClient, *, run_id: int, user_id: str, text: str
) -> None:
    """Hand the user's reply to the run's pending question; the run carries on in the background."""
    with services.session_factory.begin() as session:
        run = find_run_thread(session=session, run_id=run_id)
        assert run is not None
        channel, message_ts, request = run.channel_id, run.message_ts, run.request
    if not channel or not message_ts:
        return
    message = ProgressMessage(channel, message_ts)
    progress = SlackProgress(client, channel, message_ts, request)

    def work() -> RunOutcome:
        return answer_question(services.pipeline, run_id, text, progress, user_id=user_id)

    services.submit(_drive, services, client, run_id, message, request, work)


def give_credentials(
    services: BotServices,
    client: WebClient,
    *,
    run_id: int,
    team_id: str,
    user_id: str,
    chosen: dict[str, str] | None = None,
) -> None:
    """A secret was stored or picked for a run waiting for credentials: bind, test and deploy it
    on a run worker, then show the outcome in the run's message."""
    with services.session_factory.begin() as session:
        run = find_run_thread(session=session, run_id=run_id)
        if run is None:
            raise NotFound(f"There is no request {run_id}.")
        channel, message_ts, request = run.channel_id, run.message_ts, run.request
    if not channel or not message_ts:
        return
    message = ProgressMessage(channel, message_ts)
    progress = SlackProgress(client, channel, message_ts, request)

    def work() -> RunOutcome:
        return provide_credentials(
            services.pipeline,
            run_id,
            chosen=chosen,
            team_id=team_id,
            user_id=user_id,
            progress=progress,
        )

    services.submit(_drive, services, client, run_id, message, request, work)


def credential_asks(services: BotServices, outcome: RunOutcome) -> list[CredentialAsk]:
    """What the waiting run's message asks for, with the project's secrets of each type."""
    choices = credential_choices(
        services.session_factory, outcome.run_id, list(outcome.credentials_needed)
    )
    return [
        CredentialAsk(node=c.node, types=c.types, existing=c.existing, posts_as_bot=c.posts_as_bot)
        for c in choices
    ]


def execute_in_background(
    services: BotServices, client: WebClient, run_id: int, message: ProgressMessage, request: str
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
    services: BotServices,
    client: WebClient,
    run_id: int,
    message: ProgressMessage,
    request: str,
    work: Any,
) -> None:
    try:
        outcome = work()
    except ClixenError as e:  # e.g. an answer to a question that was already answered
        client.chat_postMessage(
            channel=message.channel,
            thread_ts=_thread_of(services, run_id),
            text=notice_text(str(e)),
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
    if outcome.state in IN_PROGRESS:
        # Handed over (this process stops): the replica that takes it over reports it here.
        return
    report_outcome(services, client, outcome=outcome, message=message, request=request)


def report_outcome(
    services: BotServices,
    client: WebClient,
    *,
    outcome: RunOutcome,
    message: ProgressMessage,
    request: str,
) -> None:
    """The final form of the run's message: summary (+ picture), question, the credentials it
    waits for, or failure."""
    if outcome.state == RunState.awaiting_credentials:
        asks = credential_asks(services, outcome)
        client.chat_update(
            channel=message.channel,
            ts=message.ts,
            text=credentials_needed_text(asks),
            blocks=credentials_needed_blocks(
                run_id=outcome.run_id,
                request=request,
                asks=asks,
                note=outcome.credentials_rejected,
                bot_scopes=bot_scopes(client) if services.settings.slack_bot_token else None,
            ),
        )
        return
    if outcome.state == RunState.awaiting_input and outcome.question:
        client.chat_update(
            channel=message.channel,
            ts=message.ts,
            text=question_text(outcome.question),
            blocks=question_blocks(request=request, question=outcome.question),
        )
        return
    if not outcome.ok or outcome.workflow_id is None or outcome.version is None:
        client.chat_update(
            channel=message.channel,
            ts=message.ts,
            text=failure_text(outcome.message),
            blocks=failure_blocks(
                request=request, error=outcome.message, needs_review=outcome.needs_review
            ),
        )
        return
    with services.session_factory.begin() as session:
        wf = find_workflow(session=session, workflow_id=outcome.workflow_id)
        assert wf is not None
        name, n8n_id, thread = wf.name, wf.n8n_workflow_id, wf.slack_thread_ts
        payload = get_version(
            session=session, workflow_id=wf.id, version=outcome.version
        ).json_payload
        layout = version_layout(
            session,
            workflow_id=wf.id,
            version=outcome.version,
            title=f"{name} · v{outcome.version}",
        )
    graph = workflow_graph(payload)
    outline = text_outline(graph)
    has_webhook = any(t.endswith(".webhook") for t in graph.types.values())
    base = services.n8n_base_url()
    url = n8n_link(base, n8n_id) if base and n8n_id else None
    client.chat_update(
        channel=message.channel,
        ts=message.ts,
        text=summary_text(name, outcome.version),
        blocks=summary_blocks(
            workflow_id=outcome.workflow_id,
            name=name,
            version=outcome.version,
            description=outcome.summary,
            outline=outline,
            has_webhook=has_webhook,
            n8n_url=url,
            runnable=runs_by_hand(payload),
            note=" ".join(
                join_channels(
                    client,
                    listens_in(payload),
                    otherwise="the workflow will not hear what happens there",
                )
            )
            or None,
        ),
    )
    # An edit's picture marks what changed since the version it replaced (see bot.pictures).
    post_picture(
        client,
        channel=message.channel,
        thread_ts=thread or _thread_of(services, outcome.run_id),
        layout=layout,
        filename=f"workflow-{outcome.workflow_id}-v{outcome.version}.png",
        alt_text=" ; ".join(outline),
    )


def _thread_of(services: BotServices, run_id: int) -> str | None:
    with services.session_factory.begin() as session:
        run = find_run_thread(session=session, run_id=run_id)
        return run.thread_ts if run else None


def thread_target(
    services: BotServices, *, team_id: str, channel: str, thread_ts: str
) -> ThreadTarget | None:
    """What a reply in this thread is about: ("answer", run id) for a run waiting on a question,
    ("edit", workflow id) for a workflow made in this thread, else None."""
    with services.session_factory.begin() as session:
        return find_thread_target(
            session=session, team_id=team_id, channel_id=channel, thread_ts=thread_ts
        )


def requester_timezone(client: WebClient, user_id: str) -> str | None:
    """The Slack user's timezone (`users.info` `tz`, e.g. "Europe/Paris"), or None when Slack
    does not say (no users:read scope, a deleted user, Slack unreachable): the run then goes on
    without it."""
    try:
        user = client.users_info(user=user_id).get("user") or {}
    except SlackApiError as e:
        log.info("no timezone for %s: %s", user_id, e.response.get("error"))
        return None
    tz = user.get("tz") if isinstance(user, dict) else None
    return tz if isinstance(tz, str) and tz else None
