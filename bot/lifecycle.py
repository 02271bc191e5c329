"""Pause, resume, rename and delete in Slack: one use case each (`core.usecases.lifecycle`),
then the workflow's thread is told who did what, and the surface the click came from (the run
summary, the versions view, App Home) is shown again as the workflow now stands."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks.common import Block
from bot.blocks.lifecycle import done_text, unchanged_text
from bot.blocks.run_message import summary_blocks
from bot.services import BotServices
from core.usecases import Actor
from core.usecases.lifecycle import WorkflowChanged, delete, pause, rename, resume, workflow_card

log = logging.getLogger(__name__)

Change = Callable[..., WorkflowChanged]

CHANGES: dict[str, Change] = {"pause": pause, "resume": resume, "delete": delete}


def change_workflow(
    services: BotServices, *, action: str, team_id: str, user_id: str, workflow_id: int
) -> WorkflowChanged:
    """Pause, resume or delete the workflow as the user (core checks the role)."""
    extra = {"settings": services.settings} if action == "resume" else {}
    return CHANGES[action](
        services.session_factory,
        n8n=services.n8n,
        actor=Actor(team_id, user_id),
        workflow_id=workflow_id,
        **extra,
    )


def rename_workflow(
    services: BotServices, *, team_id: str, user_id: str, workflow_id: int, name: str
) -> WorkflowChanged:
    return rename(
        services.session_factory,
        n8n=services.n8n,
        actor=Actor(team_id, user_id),
        workflow_id=workflow_id,
        name=name,
    )


def current_name(services: BotServices, *, team_id: str, user_id: str, workflow_id: int) -> str:
    """The workflow's name now, for a modal (anyone who may see it)."""
    return summary_card(services, team_id=team_id, user_id=user_id, workflow_id=workflow_id)[1]


def summary_card(
    services: BotServices, *, team_id: str, user_id: str, workflow_id: int
) -> tuple[list[Block], str, tuple[str, str] | None]:
    """(the workflow's summary as it stands now, its name, where its latest summary was
    posted)."""
    card = workflow_card(
        services.session_factory,
        settings=services.settings,
        actor=Actor(team_id, user_id),
        workflow_id=workflow_id,
    )
    blocks = summary_blocks(
        workflow_id=card.workflow_id,
        name=card.name,
        version=card.version,
        description=card.description,
        outline=card.outline,
        n8n_url=card.n8n_url,
        status=card.status,
        runnable=card.runs_by_hand,
    )
    return blocks, card.name, card.summary_at


def tell_thread(client: WebClient, done: WorkflowChanged, *, actor: str) -> str:
    """The line that says who did what ("paused by @ada"), posted in the workflow's thread when
    it has one; returned for the clicking user's own reply."""
    if not done.changed:
        return unchanged_text(kind=done.kind, name=done.name)
    text = done_text(kind=done.kind, name=done.name, actor=actor, previous_name=done.previous_name)
    if done.channel and done.thread_ts:
        client.chat_postMessage(channel=done.channel, thread_ts=done.thread_ts, text=text)
    return text


def refresh_message(
    services: BotServices,
    client: WebClient,
    body: dict[str, Any],
    *,
    team_id: str,
    user_id: str,
    workflow_id: int,
) -> bool:
    """Show the workflow's summary as it now stands in its latest run summary and in the
    (non-ephemeral) message the button was on; True when the click came from such a message
    (False: an ephemeral view, App Home, a command)."""
    container = body.get("container") or {}
    channel, ts = container.get("channel_id"), container.get("message_ts")
    clicked = (
        (str(channel), str(ts))
        if container.get("type") == "message"
        and not container.get("is_ephemeral")
        and channel
        and ts
        else None
    )
    blocks, name, summary_at = summary_card(
        services, team_id=team_id, user_id=user_id, workflow_id=workflow_id
    )
    for where in {w for w in (clicked, summary_at) if w is not None}:
        try:
            client.chat_update(channel=where[0], ts=where[1], blocks=blocks, text=name)
        except SlackApiError:
            # A summary deleted in Slack, or in a channel the bot left: the thread is told.
            log.warning("could not update the summary %s in %s", where[1], where[0])
    return clicked is not None
