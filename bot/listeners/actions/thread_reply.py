"""The two buttons under "Do you want me to change the workflow?" (an unclear thread reply).
The button's value is untrusted: the clicking user must be the reply's author, and core re-checks
their right to edit the workflow."""

from __future__ import annotations

from typing import Any

from slack_bolt import BoltContext, Respond
from slack_sdk import WebClient

from bot.blocks.thread_replies import (
    PendingEdit,
    edit_confirmed_blocks,
    edit_declined_blocks,
    parse_pending_value,
)
from bot.listeners.context import SlackRequest, acked, services_of, team_of, user_of
from bot.thread_replies import confirm_pending_edit
from core.kernel.errors import InvalidInput, PermissionDenied


def _pending(action: dict[str, Any]) -> PendingEdit:
    try:
        return parse_pending_value(action["value"])
    except (KeyError, TypeError, ValueError) as e:
        raise InvalidInput("That button is not valid any more; reply again in the thread.") from e


@acked()
def handle_thread_edit_confirm(request: SlackRequest) -> None:
    assert request.respond is not None
    confirm_edit(request.payload, request.respond, request.client, request.context)


def confirm_edit(
    action: dict[str, Any], respond: Respond, client: WebClient, context: BoltContext
) -> None:
    pending = _pending(action)
    confirm_pending_edit(
        services_of(context),
        client,
        team_id=team_of(context),
        user_id=user_of(context),
        pending=pending,
    )
    respond(
        text="Changing the workflow",
        blocks=edit_confirmed_blocks(pending.request),
        replace_original=True,
    )


@acked()
def handle_thread_edit_cancel(request: SlackRequest) -> None:
    assert request.respond is not None
    decline_edit(request.payload, request.respond, request.context)


def decline_edit(action: dict[str, Any], respond: Respond, context: BoltContext) -> None:
    if _pending(action).user_id != user_of(context):
        raise PermissionDenied("Only the person who wrote the reply can answer this.")
    respond(
        text="The workflow stays as it is",
        blocks=edit_declined_blocks(),
        replace_original=True,
    )
