"""Errors as the Slack user sees them: `core.kernel.errors.user_message` says what to tell (our
domain errors say themselves; anything else gets an error id, logged with its traceback), this
module shows it as an ephemeral message; an interaction no listener handles (a link button n8n's
Slack node posted) is only acknowledged."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import BoltContext, BoltResponse
from slack_bolt.error import BoltUnhandledRequestError
from slack_sdk import WebClient

from bot.blocks.messages import error_blocks, error_text
from core.kernel.errors import user_message
from core.kernel.logging import redact

log = logging.getLogger(__name__)


def handle_error(
    error: Exception, body: dict[str, Any], context: BoltContext, client: WebClient
) -> BoltResponse | None:
    """Domain errors become a friendly ephemeral message; anything else gets an id that is shown
    to the user and logged with its traceback. An interaction no listener handles (a link button
    n8n's Slack node posted) is only acknowledged (`acknowledge_unhandled`)."""
    if isinstance(error, BoltUnhandledRequestError):
        return acknowledge_unhandled(body)
    told = user_message(error, log=log, where="a Slack request")
    if told.error_id is None:
        blocks, text = error_blocks(told.text), error_text(told.text)
        log.info("clixen error shown to user: %s", redact(told.text))
    else:
        text, blocks = told.text, error_blocks(told.text, told.error_id)
    tell_user(body, context, client, text=text, blocks=blocks)
    return None


def tell_user(
    body: dict[str, Any],
    context: BoltContext,
    client: WebClient,
    *,
    text: str,
    blocks: list[dict[str, Any]],
) -> None:
    """Show a message only the acting user sees, wherever the request came from."""
    try:
        if context.respond is not None and body.get("response_url"):
            context.respond(
                text=text, blocks=blocks, response_type="ephemeral", replace_original=False
            )
            return
        event = body.get("event") or {}
        channel = context.channel_id or event.get("channel")
        user = context.user_id
        if channel and user:
            thread = event.get("thread_ts") or event.get("ts")
            client.chat_postEphemeral(
                channel=channel, user=user, text=text, blocks=blocks, thread_ts=thread
            )
        elif user:
            client.chat_postMessage(channel=user, text=text, blocks=blocks)
    except Exception:  # the user cannot be told; the log has it
        log.exception("could not deliver an error message to the user")


# Interactions no listener handles (a button, a menu, a shortcut): acknowledged, nothing else.
# A link button (a button with a `url`) still sends Slack a `block_actions` interaction, and an
# app that does not acknowledge it gets an error icon next to the button: n8n's own Slack node
# posts such buttons (send-and-wait approvals), and so may any workflow. Bolt raises
# BoltUnhandledRequestError for them (`bot.app.create_app` asks it to), whatever the order of
# the listeners; other unhandled requests keep Bolt's 404 (Slack never sees it over HTTP: the
# server acknowledged first).
INTERACTIONS = frozenset(
    {
        "block_actions",
        "interactive_message",
        "shortcut",
        "message_action",
        "view_submission",
        "view_closed",
    }
)


def acknowledge_unhandled(body: dict[str, Any]) -> BoltResponse | None:
    """A 200 for an interaction no listener handles; None (Bolt's 404) for anything else."""
    kind = str(body.get("type") or "")
    if kind not in INTERACTIONS:
        log.debug("no listener for a Slack %s request", kind or "unknown")
        return None
    actions = body.get("actions") or [{}]
    action = actions[0] if isinstance(actions[0], dict) else {}
    # The action id and kind only: its value may be anything a workflow put there.
    log.debug(
        "acknowledged an unhandled %s %.80s (%s)",
        kind,
        action.get("action_id") or body.get("callback_id"),
        "link" if action.get("url") else action.get("type"),
    )
    return BoltResponse(status=200, body="")
