"""Builds the Bolt app: clients, the services middleware, listeners and the one error handler."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App, BoltContext, BoltRequest, BoltResponse
from slack_sdk import WebClient
from slack_sdk.webhook import WebhookClient

from bot.error_handler import handle_error
from bot.listeners import register_listeners
from bot.metrics import SLACK_REQUESTS, surface_of_body
from bot.server import EVENT_STORED
from bot.services import BotServices
from bot.slack_client import SlackClient
from bot.triggers import retry_num_of, store_event
from core.kernel.idempotency import claim_once
from core.kernel.log_context import ContextThreadPoolExecutor, begin
from core.kernel.settings import Settings

log = logging.getLogger(__name__)

# Socket Mode only: threads that run listeners while Bolt waits for their ack(). Over HTTP the
# server acknowledges first and Bolt runs each listener on the dispatch thread (bot.server).
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
        client = SlackClient(**kwargs)
    app = App(
        token=settings.slack_bot_token,
        signing_secret=settings.slack_signing_secret,
        client=client,
        # HTTP: the server has usually answered Slack already, so the listener runs right on the
        # dispatch thread (no hop, no ack polling); a modal's ack still carries its errors.
        process_before_response=not socket_mode,
        # Over HTTP `bot.server` verifies each request's signature once, when it arrives, and
        # refuses to serve Slack without the secret; checking again here would drop requests
        # that were fresh on arrival but waited in the dispatch queue past Slack's 5 minutes
        # (after Slack got its 200). Socket Mode has no signature to check.
        request_verification_enabled=False,
        listener_executor=ContextThreadPoolExecutor(LISTENER_THREADS, thread_name_prefix="bolt"),
        # A request no listener takes goes to `handle_error`, which acknowledges interactions
        # (link buttons of n8n's Slack node: no error icon) whatever the listeners' order.
        raise_error_for_unhandled_request=True,
    )

    @app.middleware
    def provide_services(
        body: dict[str, Any], context: BoltContext, req: BoltRequest, next: Any
    ) -> BoltResponse | None:
        context["services"] = services
        if socket_mode:  # over HTTP bot.server counts (and times) each request on arrival
            SLACK_REQUESTS.labels(surface_of_body(body)).inc()
        if from_another_workspace(context):
            refuse_another_workspace(body, context)
            return BoltResponse(status=200, body="")
        if not context.get(EVENT_STORED):
            # Before the claim below and (in Socket Mode) before Bolt acknowledges: an event a
            # workflow listens to is in the outbox first (over HTTP the server stored it).
            store_event(
                services,
                body,
                retry_num=retry_num_of(req.headers),
                own_user_id=context.bot_user_id,
                own_bot_id=context.bot_id,
            )
        # Slack redelivers an event it believes failed: handle each event id once.
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if event_id and not claim_once(
            session_factory=services.session_factory, key=f"slack:event:{event_id}"
        ):
            return BoltResponse(status=200, body="")
        # Every log line of this request, and of the run it starts, carries its id (Bolt runs
        # the listener after this returns: the fields stay bound for the rest of the request).
        begin(slack_request=event_id or body.get("trigger_id"), team=context.team_id)
        return next()  # type: ignore[no-any-return]

    app.error(handle_error)
    register_listeners(app)
    return app


FOREIGN_WORKSPACE = (
    "This Clixen serves the Slack workspace it is installed in, and you are in another one: "
    "ask your workspace's admins to install Clixen there."
)


def from_another_workspace(context: BoltContext) -> bool:
    """Whether the request comes from a workspace Clixen is not installed in (a user of
    another organisation in a Slack Connect channel; any other app install sharing the signing
    secret): not the installation's team, nor a team of its Enterprise Grid organisation."""
    installed = context.authorize_result
    if installed is None or not installed.team_id or not context.team_id:
        return False
    if context.team_id == installed.team_id:
        return False
    grid = installed.enterprise_id
    return not (grid and context.enterprise_id == grid)


def refuse_another_workspace(body: dict[str, Any], context: BoltContext) -> None:
    """Say so to whoever asked, when the request has somewhere to answer (a command or a
    click's `response_url`); nothing of this workspace is read or written."""
    log.warning("refused a Slack request from another workspace (%s)", context.team_id)
    url = body.get("response_url")
    if not isinstance(url, str) or not url:
        return
    try:
        WebhookClient(url).send(text=FOREIGN_WORKSPACE, response_type="ephemeral")
    except Exception:  # Slack unreachable: the refusal stands without a reply
        log.warning("could not tell another workspace's user why they were refused")
