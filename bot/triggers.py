"""Workflows that start from Slack, as the bot runs them (issue 25; the core side is
`core.triggers`).

- `SlackTriggers`: this process's delivery worker (sends enqueued events to n8n, with the
  bot's `SlackTriggerReader`) and its notifier; `start_triggers` installs the bot's
  `SlackChannelAccess` as core's channel access (who may listen where: `bot.trigger_access`).
- `store_event`: a verified Slack event a trigger may listen to, handed to
  `core.triggers.receive_event` (which only enqueues: one short transaction), then the worker
  woken — BEFORE Slack is acknowledged (over HTTP by `bot.server`, in Socket Mode by the app's
  middleware), so an event Slack was told we have is in the outbox even if the process dies
  right after the ack; one that could not be stored is not acknowledged and Slack retries it
  (the outbox's unique (event, workflow) rows make a retry a duplicate).
- `run_workflow`: a run by hand (`/clixen run`, the Run button, the message shortcut): the core
  use case `run_by_hand`, then its result rendered — the inputs modal when the workflow asks for
  inputs, else "is running".
- `SlackTriggerNotifier`: the notices (gave up, rate limited, subscription dropped) posted in the
  workflow's thread; their text is `bot.blocks.triggers.notice_text`.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks.triggers import RunRequest, inputs_modal, notice_text, run_started_text
from bot.services import BotServices
from bot.trigger_access import SlackChannelAccess, SlackTriggerReader
from core.triggers import (
    DeliveryWorker,
    HandRunStatus,
    InputField,
    MessageRef,
    PayloadKind,
    Received,
    SlackEnvelope,
    TriggerNotice,
    TriggerNotifier,
    WebhookSender,
    declared_inputs,
    install,
    receive_event,
    run_by_hand,
)
from core.triggers.notices import QUIET
from core.workspace.projects import Actor

log = logging.getLogger(__name__)


class SlackTriggerNotifier:
    """Posts trigger notices in the workflow's thread (its channel when it has no thread), on
    the bot's intake pool: `notify` never blocks the caller (a delivery or the ack path)."""

    def __init__(self, client: WebClient, submit: Callable[[Callable[[], None]], Any]) -> None:
        self._client = client
        self._submit = submit

    def notify(self, notice: TriggerNotice) -> None:
        workflow = getattr(notice, "workflow", None)
        channel = workflow.channel_id if workflow is not None else None
        if not channel:
            log.warning("Slack trigger notice with nowhere to post it: %s", type(notice).__name__)
            return
        text = notice_text(notice)
        thread = workflow.thread_ts if workflow is not None else None

        def post() -> None:
            try:
                self._client.chat_postMessage(channel=channel, thread_ts=thread, text=text)
            except SlackApiError as e:
                log.warning("could not post a Slack trigger notice: %s", e.response.get("error"))

        self._submit(post)


@dataclass
class SlackTriggers:
    """This process's delivery worker and notifier (see the module docstring)."""

    worker: DeliveryWorker | None
    notifier: SlackTriggerNotifier

    def wake(self) -> None:
        if self.worker is not None:
            self.worker.wake()

    def stop(self) -> None:
        if self.worker is not None:
            self.worker.stop()
        install(None)


def start_triggers(services: BotServices, client: WebClient) -> SlackTriggers:
    """Install the bot's channel access and start the delivery worker (none without n8n: events
    are still received and wait in the outbox for a replica that has it)."""
    access = SlackChannelAccess(client)
    install(access)
    notifier = SlackTriggerNotifier(client, services.after_ack)
    worker = None
    if services.n8n is not None:
        worker = DeliveryWorker(
            session_factory=services.session_factory,
            sender=WebhookSender(services.n8n, key=services.settings.secret_key or ""),
            reader=SlackTriggerReader(client),
            access=access,
            notifier=notifier,
        )
        worker.start()
    return SlackTriggers(worker, notifier)


# The events a workflow can start from, and `member_left_channel` (a creator left a channel).
TRIGGER_EVENTS = frozenset({"message", "reaction_added", "member_joined_channel"}) | {
    "member_left_channel"
}


def retry_num_of(headers: Mapping[str, Any]) -> int:
    """Slack's `X-Slack-Retry-Num` (0 on the first delivery)."""
    raw = headers.get("x-slack-retry-num") or "0"
    raw = raw[0] if isinstance(raw, list | tuple) and raw else raw
    return int(raw) if isinstance(raw, str) and raw.isdigit() else 0


def trigger_intake(services: BotServices, client: WebClient) -> Callable[[bytes, Any], bool]:
    """What `bot.server` calls on a verified Events API body before acknowledging it:
    `store_event` with Clixen's own bot ids. Those come from auth.test, asked on a thread of its
    own (never on the ack's path: Slack may be slow) and kept; until it answered, Clixen's bot
    user is the one Slack names in the body's `authorizations`."""
    own: dict[str, str | None] = {}
    asking = threading.Lock()

    def ask_slack() -> None:
        try:
            me = client.auth_test()
            own.update(user=me.get("user_id"), bot=me.get("bot_id"))
        except Exception:  # Slack unreachable: asked again with the next event
            log.warning("auth.test failed; Clixen's own events known by user id only for now")
        finally:
            asking.release()

    def store(raw: bytes, headers: Any) -> bool:
        body = json.loads(raw)
        if not isinstance(body, dict):
            return False
        if not own and asking.acquire(blocking=False):
            threading.Thread(target=ask_slack, name="auth-test", daemon=True).start()
        stored = store_event(
            services,
            body,
            retry_num=retry_num_of(headers),
            own_user_id=own.get("user"),
            own_bot_id=own.get("bot"),
        )
        return stored is not None

    return store


def store_event(
    services: BotServices,
    body: Mapping[str, Any],
    *,
    retry_num: int,
    own_user_id: str | None,
    own_bot_id: str | None,
) -> Received | None:
    """Store a verified Events API body for the workflows it triggers (see the module
    docstring); None when it is not an event a trigger listens to. Raises what the database
    raises: the caller must then not acknowledge it."""
    event = body.get("event")
    if body.get("type") != "event_callback" or not isinstance(event, Mapping):
        return None
    if event.get("type") not in TRIGGER_EVENTS:
        return None
    team = str(body.get("team_id") or body.get("enterprise_id") or "")
    authorizations = body.get("authorizations") or [{}]
    first = authorizations[0] if isinstance(authorizations, list) and authorizations else {}
    app_team = first.get("team_id") if isinstance(first, Mapping) else None
    if own_user_id is None and isinstance(first, Mapping) and first.get("is_bot"):
        own_user_id = first.get("user_id")  # the installation's bot user, as Slack signed it
    return receive(
        services,
        team_id=team,
        event_id=str(body.get("event_id") or ""),
        event=event,
        retry_num=retry_num,
        app_team_id=app_team,
        own_user_id=own_user_id,
        own_bot_id=own_bot_id,
    )


def receive(
    services: BotServices,
    *,
    team_id: str,
    event_id: str,
    event: Mapping[str, Any],
    retry_num: int,
    app_team_id: str | None,
    own_user_id: str | None,
    own_bot_id: str | None,
) -> Received:
    """Hand one verified event to the core (it only enqueues) and wake the worker."""
    triggers: SlackTriggers | None = services.triggers
    notifier: TriggerNotifier = triggers.notifier if triggers is not None else QUIET
    received = receive_event(
        SlackEnvelope(
            team_id=team_id,
            event_id=event_id,
            event=event,
            retry_num=retry_num,
            app_team_id=app_team_id,
            own_user_id=own_user_id,
            own_bot_id=own_bot_id,
        ),
        session_factory=services.session_factory,
        settings=services.settings,
        notifier=notifier,
    )
    if received.deliveries and triggers is not None:
        triggers.wake()
    return received


def run_workflow(
    services: BotServices,
    client: WebClient,
    *,
    actor: Actor,
    request: RunRequest,
    request_id: str,
    trigger_id: str | None,
    inputs: Mapping[str, str] | None = None,
    reply: Callable[[str], None],
    workflow_name: str = "",
) -> None:
    """Run `request.workflow_id` by hand: ask its inputs in a modal first when it declares any
    and none were given (a modal needs `trigger_id`), else start it and `reply` that it runs."""
    message = request.message
    if inputs is None and trigger_id is not None:
        declared = declared_inputs(
            session_factory=services.session_factory,
            actor=actor,
            workflow_id=request.workflow_id,
        )
        if declared:  # the form first, optional fields included; its submission runs it
            _open_inputs_modal(
                client, trigger_id, request, inputs=declared, workflow_name=workflow_name
            )
            return
    run = run_by_hand(
        session_factory=services.session_factory,
        actor=actor,
        workflow_id=request.workflow_id,
        source=PayloadKind(request.source),
        request_id=request_id,
        text=request.text,
        inputs=inputs,
        channel_id=request.channel_id,
        message=MessageRef(
            channel_id=message.get("channel_id", ""),
            ts=message.get("ts", ""),
            text=message.get("text", ""),
            user_id=message.get("user_id", ""),
            permalink=message.get("permalink", ""),
        )
        if message
        else None,
    )
    if run.status is HandRunStatus.needs_inputs:
        if trigger_id is None:
            names = ", ".join(f.label for f in run.missing)
            reply(f"*{run.workflow_name}* needs {names}; use its Run button to fill them in.")
            return
        _open_inputs_modal(
            client, trigger_id, request, inputs=run.inputs, workflow_name=run.workflow_name
        )
        return
    triggers: SlackTriggers | None = services.triggers
    if triggers is not None:
        triggers.wake()
    reply(run_started_text(run.workflow_name, on_message=bool(message)))


def _open_inputs_modal(
    client: WebClient,
    trigger_id: str,
    request: RunRequest,
    *,
    inputs: Sequence[InputField],
    workflow_name: str = "",
) -> None:
    view = inputs_modal(workflow_name=workflow_name, inputs=inputs, request=request)
    client.views_open(trigger_id=trigger_id, view=view)
