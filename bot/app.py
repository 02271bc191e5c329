"""Builds the Bolt app: clients, the services middleware, listeners and the one error handler."""

from __future__ import annotations

import logging
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_bolt import App, BoltContext, BoltResponse
from slack_sdk import WebClient

from bot.blocks.messages import error_blocks
from bot.idempotency import claim
from bot.listeners import register_listeners
from bot.services import BotServices
from core.errors import ClixenError
from core.logging import redact
from core.settings import Settings

log = logging.getLogger(__name__)

# Threads that run listeners up to (and a little after) ack(); pipeline work goes to run workers.
LISTENER_THREADS = 32


def create_app(
    *, settings: Settings, services: BotServices, client: WebClient | None = None
) -> App:
    """The Bolt app for `settings` (token, signing secret, optional SLACK_API_URL)."""
    socket_mode = bool(settings.slack_app_token)
    settings.require("SLACK_BOT_TOKEN", *(() if socket_mode else ("SLACK_SIGNING_SECRET",)))
    if client is None:
        kwargs: dict[str, Any] = {"token": settings.slack_bot_token}
        if settings.slack_api_url:
            kwargs["base_url"] = settings.slack_api_url
        client = WebClient(**kwargs)
    app = App(
        token=settings.slack_bot_token,
        signing_secret=settings.slack_signing_secret,
        client=client,
        process_before_response=False,
        request_verification_enabled=not socket_mode,
        listener_executor=ThreadPoolExecutor(LISTENER_THREADS, thread_name_prefix="bolt"),
    )

    @app.middleware
    def provide_services(
        body: dict[str, Any], context: BoltContext, next: Any
    ) -> BoltResponse | None:
        context["services"] = services
        # Slack redelivers an event it believes failed: handle each event id once.
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if event_id and not claim(services.session_factory, f"slack:event:{event_id}"):
            return BoltResponse(status=200, body="")
        return next()  # type: ignore[no-any-return]

    app.error(handle_error)
    register_listeners(app)
    return app


def handle_error(
    error: Exception, body: dict[str, Any], context: BoltContext, client: WebClient
) -> None:
    """Domain errors become a friendly ephemeral message; anything else gets an id that is shown
    to the user and logged with its traceback."""
    if isinstance(error, ClixenError):
        blocks, text = error_blocks(str(error)), str(error)
        log.info("clixen error shown to user: %s", redact(str(error)))
    else:
        error_id = uuid.uuid4().hex[:8]
        log.error("unexpected error %s", error_id, exc_info=error)
        text = f"Something went wrong on our side (error id {error_id})."
        blocks = error_blocks(text, error_id)
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
