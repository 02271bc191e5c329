"""Slack events a workflow can start from (`reaction_added`, `member_joined_channel`, a message
in a channel) and `member_left_channel` (a workflow's creator left: it stops listening there):
stored for their workflows before Slack is acknowledged (`bot.triggers.store_event`: only an
insert into the outbox, `core.triggers.receive_event`), so these listeners have nothing left to
do for them. A message is also a possible reply in a workflow's thread
(`bot.listeners.events.messages`)."""

from __future__ import annotations

from typing import Any

from slack_bolt import BoltContext
from slack_sdk import WebClient

from bot.listeners.events.messages import handle_thread_reply


def handle_trigger_event() -> None:
    """Nothing left to do: the event was stored for its workflows before Slack was acknowledged
    (`bot.triggers.store_event`, called by `bot.server` or the app's middleware)."""


def handle_message(
    event: dict[str, Any],
    body: dict[str, Any],
    client: WebClient,
    context: BoltContext,
) -> None:
    """A message: stored for the workflows that listen in its channel before the ack (see
    `handle_trigger_event`); here, a possible thread reply."""
    handle_thread_reply(event, body, client, context)
