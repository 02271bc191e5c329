"""Slack events a workflow can start from (`reaction_added`, `member_joined_channel`, a message
in a channel) and `member_left_channel` (a workflow's creator left: it stops listening there):
acknowledged by Bolt / the server first, then handed to `bot.triggers.receive`, which only
enqueues (`core.triggers.receive_event`). A message is also a possible reply in a workflow's
thread (`bot.listeners.events.messages`)."""

from __future__ import annotations

from typing import Any

from slack_bolt import BoltContext, BoltRequest
from slack_sdk import WebClient

from bot.listeners.context import after_ack, services_of, team_of
from bot.listeners.events.messages import handle_thread_reply
from bot.triggers import receive


def _retry_num(request: BoltRequest) -> int:
    raw = (request.headers.get("x-slack-retry-num") or ["0"])[0]
    return int(raw) if raw.isdigit() else 0


def handle_trigger_event(
    event: dict[str, Any],
    body: dict[str, Any],
    client: WebClient,
    context: BoltContext,
    request: BoltRequest,
) -> None:
    retry = _retry_num(request)
    # The workspace this installation belongs to, as Slack's signed body says.
    authorizations = body.get("authorizations") or [{}]
    app_team = authorizations[0].get("team_id") if isinstance(authorizations[0], dict) else None

    def work() -> None:
        receive(
            services_of(context),
            team_id=team_of(context),
            event_id=str(body.get("event_id") or ""),
            event=event,
            retry_num=retry,
            app_team_id=app_team,
            own_user_id=context.bot_user_id,
            own_bot_id=context.bot_id,
        )

    after_ack(context, body, client, work)


def handle_message(
    event: dict[str, Any],
    body: dict[str, Any],
    client: WebClient,
    context: BoltContext,
    request: BoltRequest,
) -> None:
    """A message: for the workflows that listen in its channel, and as a thread reply."""
    handle_trigger_event(event, body, client, context, request)
    handle_thread_reply(event, body, client, context)
