"""Errors as the Slack user sees them: `core.kernel.errors.user_message` says what to tell (our
domain errors say themselves; anything else gets an error id, logged with its traceback), this
module shows it as an ephemeral message."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import BoltContext
from slack_sdk import WebClient

from bot.blocks.messages import error_blocks, error_text
from core.kernel.errors import user_message
from core.kernel.logging import redact

log = logging.getLogger(__name__)


def handle_error(
    error: Exception, body: dict[str, Any], context: BoltContext, client: WebClient
) -> None:
    """Domain errors become a friendly ephemeral message; anything else gets an id that is shown
    to the user and logged with its traceback."""
    told = user_message(error, log=log, where="a Slack request")
    if told.error_id is None:
        blocks, text = error_blocks(told.text), error_text(told.text)
        log.info("clixen error shown to user: %s", redact(told.text))
    else:
        text, blocks = told.text, error_blocks(told.text, told.error_id)
    tell_user(body, context, client, text=text, blocks=blocks)


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
