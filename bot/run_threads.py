"""Pipeline runs as Slack sees them: one thread per request, one progress message updated at
each step, then the summary (with a picture of the workflow) or the question or the failure."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks.common import context, escape, section
from bot.blocks.credentials import (
    CredentialAsk,
    credentials_needed_blocks,
    credentials_needed_text,
)
from bot.blocks.run_message import (
    failure_blocks,
    failure_text,
    notice_text,
    progress_blocks,
    progress_text,
    question_blocks,
    question_text,
    request_root_text,
    summary_blocks,
    summary_text,
)
from bot.channels import bot_scopes, join_channels
from bot.pictures import post_picture
from bot.reviews import announce_now
from bot.services import BotServices
from core.conversation.threads import ThreadTarget
from core.kernel.errors import NotFound, user_message
from core.kernel.vocabulary import IN_PROGRESS, RunState
from core.pipeline import ProgressEvent, RunOutcome, answer_question, execute_run
from core.pipeline.resume import provide_credentials
from core.usecases import Actor
from core.usecases.requests import (
    record_run_message,
    request_run,
    run_summary,
    run_thread,
    waiting_for,
)
from core.usecases.requests import thread_target as find_thread

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
    started = request_run(
        services.pipeline,
        settings=services.settings,
        actor=Actor(team_id, user_id),
        text=text,
        idempotency_key=idempotency_key,
        channel_id=channel_id,
        thread_ts=thread_ts,
        workflow_id=workflow_id,
        timezone=requester_timezone(client, user_id),
    )
    if not started.created:
        return None
    request = started.request  # as sanitised
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
    record_run_message(
        services.session_factory, run_id=started.run_id, message_ts=message_ts, thread_ts=opened
    )
    services.submit(
        execute_in_background,
        services,
        client,
        started.run_id,
        ProgressMessage(channel_id, message_ts),
        request,
    )
    return started.run_id


def answer(
    services: BotServices, client: WebClient, *, run_id: int, user_id: str, text: str
) -> None:
    """Hand the user's reply to the run's pending question; the run carries on in the background."""
    run = run_thread(services.session_factory, run_id)
    assert run is not None
    channel, message_ts, request = run.channel_id, run.message_ts, run.request
    if not channel or not message_ts:
        return
    message = ProgressMessage(channel, message_ts)
    progress = SlackProgress(client, channel, message_ts, request)

    def work() -> RunOutcome:
        return answer_question(services.require_pipeline(), run_id, text, progress, user_id=user_id)

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
    run = run_thread(services.session_factory, run_id)
    if run is None:
        raise NotFound(f"There is no request {run_id}.")
    channel, message_ts, request = run.channel_id, run.message_ts, run.request
    if not channel or not message_ts:
        return
    message = ProgressMessage(channel, message_ts)
    progress = SlackProgress(client, channel, message_ts, request)

    def work() -> RunOutcome:
        return provide_credentials(
            services.require_pipeline(),
            run_id,
            chosen=chosen,
            team_id=team_id,
            user_id=user_id,
            progress=progress,
        )

    services.submit(_drive, services, client, run_id, message, request, work)


def credential_asks(services: BotServices, outcome: RunOutcome) -> list[CredentialAsk]:
    """What the waiting run's message asks for, with the project's secrets of each type."""
    choices = waiting_for(services.session_factory, outcome)
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
        lambda: execute_run(services.require_pipeline(), run_id, progress),
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
    except Exception as e:
        told = user_message(e, log=log, where=f"run {run_id}")
        if told.error_id is None:  # e.g. an answer to a question that was already answered
            client.chat_postMessage(
                channel=message.channel,
                thread_ts=_thread_of(services, run_id),
                text=notice_text(told.text),
            )
            return
        client.chat_update(
            channel=message.channel,
            ts=message.ts,
            text="The run failed.",
            blocks=failure_blocks(request=request, error=told.text, needs_review=True),
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
        _show_credentials_needed(
            services, client, outcome=outcome, message=message, request=request
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
    if outcome.review_id is not None and outcome.review_version is not None:
        # Review before live: the version waits for an owner; they are asked now.
        text = escape(outcome.message)
        client.chat_update(
            channel=message.channel,
            ts=message.ts,
            text=text,
            blocks=[section(f":hourglass_flowing_sand: {text}"), context(escape(request[:300]))],
        )
        announce_now(services, client, outcome.review_id)
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
    _show_deployed(services, client, outcome=outcome, message=message)


def _show_credentials_needed(
    services: BotServices,
    client: WebClient,
    *,
    outcome: RunOutcome,
    message: ProgressMessage,
    request: str,
) -> None:
    """The run's message asks for the accounts and secrets the run waits for."""
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


def _show_deployed(
    services: BotServices, client: WebClient, *, outcome: RunOutcome, message: ProgressMessage
) -> None:
    """The run's message becomes the deployed workflow's summary; its picture goes in the
    thread."""
    summary = run_summary(services.session_factory, settings=services.settings, outcome=outcome)
    client.chat_update(
        channel=message.channel,
        ts=message.ts,
        text=summary_text(summary.name, summary.version),
        blocks=summary_blocks(
            workflow_id=summary.workflow_id,
            name=summary.name,
            version=summary.version,
            description=summary.description,
            outline=summary.outline,
            n8n_url=summary.n8n_url,
            runnable=summary.runs_by_hand,
            note=" ".join(
                join_channels(
                    client,
                    summary.listens_in,
                    otherwise="the workflow will not hear what happens there",
                )
            )
            or None,
        ),
    )
    # An edit's picture marks what changed since the version it replaced.
    post_picture(
        client,
        channel=message.channel,
        thread_ts=summary.thread_ts,
        layout=summary.picture,
        filename=f"workflow-{summary.workflow_id}-v{summary.version}.png",
        alt_text=" ; ".join(summary.outline),
    )


def _thread_of(services: BotServices, run_id: int) -> str | None:
    run = run_thread(services.session_factory, run_id)
    return run.thread_ts if run else None


def thread_target(
    services: BotServices, *, team_id: str, user_id: str, channel: str, thread_ts: str
) -> ThreadTarget | None:
    """What a reply in this thread is about: ("answer", run id) for a run waiting on a question,
    ("edit", workflow id) for a workflow made in this thread, else None."""
    return find_thread(
        services.session_factory,
        actor=Actor(team_id, user_id),
        channel_id=channel,
        thread_ts=thread_ts,
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
