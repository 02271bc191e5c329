"""`@Clixen <request>` starts a run in the channel; a reply in a run's thread answers its
question, or, in a workflow's thread, goes to `bot.thread_replies` (an edit only when it clearly
asks for a change)."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt import BoltContext
from slack_sdk import WebClient

from bot.listeners.context import after_ack, services_of, team_of, user_of
from bot.run_threads import answer, start_request, thread_target
from bot.thread_replies import reply_in_workflow_thread
from core.kernel.errors import InvalidInput

_MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")


def handle_app_mention(
    event: dict[str, Any], body: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
    # Bolt acknowledges events itself; the work goes to an intake thread like every listener's.
    after_ack(context, body, client, lambda: start_from_mention(event, body, client, context))


def start_from_mention(
    event: dict[str, Any], body: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
    services = services_of(context)
    team, user = team_of(context), user_of(context)
    text = _MENTION.sub("", event.get("text", "")).strip()
    if not text:
        raise InvalidInput("Mention me with a request, e.g. `@Clixen every morning …`.")
    thread = event.get("thread_ts")
    key = f"slack:event:{body.get('event_id') or event['ts']}"
    target = (
        thread_target(
            services, team_id=team, user_id=user, channel=event["channel"], thread_ts=thread
        )
        if thread
        else None
    )
    if target and target.kind == "answer":
        answer(services, client, run_id=target.id, user_id=user, text=text)
        return
    if target and thread:
        reply_in_workflow_thread(
            services,
            client,
            team_id=team,
            user_id=user,
            channel_id=event["channel"],
            thread_ts=thread,
            reply_ts=event["ts"],
            text=text,
            workflow_id=target.id,
            idempotency_key=key,
        )
        return
    start_request(
        services,
        client,
        team_id=team,
        user_id=user,
        channel_id=event["channel"],
        thread_ts=thread or event["ts"],
        text=text,
        idempotency_key=key,
    )


def handle_thread_reply(
    event: dict[str, Any], body: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
    after_ack(context, body, client, lambda: continue_thread(event, body, client, context))


def continue_thread(
    event: dict[str, Any], body: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
    """A reply in a run's thread: the answer to its question, or about its workflow."""
    thread = event.get("thread_ts")
    if not thread or event.get("subtype") or event.get("bot_id") or thread == event.get("ts"):
        return
    text = event.get("text", "")
    if not text.strip():
        return
    if context.bot_user_id and f"<@{context.bot_user_id}" in text:
        return  # the app_mention listener handles it
    services = services_of(context)
    team, user = team_of(context), user_of(context)
    target = thread_target(
        services, team_id=team, user_id=user, channel=event["channel"], thread_ts=thread
    )
    if target is None:
        return  # a thread Clixen has nothing to do with
    if target.kind == "answer":
        answer(services, client, run_id=target.id, user_id=user_of(context), text=text)
        return
    reply_in_workflow_thread(
        services,
        client,
        team_id=team,
        user_id=user_of(context),
        channel_id=event["channel"],
        thread_ts=thread,
        reply_ts=event["ts"],
        text=text,
        workflow_id=target.id,
        idempotency_key=f"slack:event:{body.get('event_id') or event['ts']}",
    )
