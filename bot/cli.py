"""`clixen serve`: the Slack bot (Socket Mode or HTTP), the HTTP API and the scheduler.

The `clixen.commands` entry point imports this module for every `clixen` command, so its top
imports stay cheap: Slack, Starlette, the database and the pipeline load when `serve` runs.
"""

from __future__ import annotations

import argparse
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.kernel.errors import ClixenError, SettingsError

if TYPE_CHECKING:
    from slack_bolt import App
    from starlette.applications import Starlette

    from bot.services import BotServices
    from core.kernel.settings import Settings
    from core.pipeline import ProgressEvent, RunOutcome
    from core.scheduler.notify import Notifier, SchedulerEvent

log = logging.getLogger(__name__)


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "serve", help="run the Slack bot (Socket Mode if SLACK_APP_TOKEN is set, else HTTP)"
    )
    p.add_argument("--port", type=int, default=None, help="HTTP port (default: PORT or 3000)")
    p.add_argument("--no-scheduler", action="store_true", help="do not run scheduled jobs here")
    p.set_defaults(func=_serve, service=True)


class LogNotifier:
    """Scheduler reports while Slack is not configured (development): written to the log."""

    def notify(self, event: SchedulerEvent) -> None:
        # Slack's words load only when there is news.
        from bot.blocks.notices import connected_privately, notice_text
        from core.scheduler.notify import AccountConnected

        text = " ".join(notice_text(event).split("\n"))
        place = event.where.channel if event.where is not None else "the project's owners"
        log.warning("[for Slack channel %s] %s", place, text)
        if isinstance(event, AccountConnected) and (private := connected_privately(event)):
            log.warning("[for %s only, in Slack channel %s] %s", event.user_id, place, private)

    def run_progress(self, event: ProgressEvent) -> None:
        return None

    def run_finished(self, outcome: RunOutcome) -> None:
        return None


def slack_variables(settings: Settings) -> tuple[str, ...]:
    """The Slack variables this mode needs: Socket Mode with SLACK_APP_TOKEN, else HTTP."""
    if settings.slack_app_token:
        return ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN")
    return ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET")


def missing_slack_variables(settings: Settings) -> list[str]:
    """Which of `slack_variables(settings)` are unset (or refused as placeholders)."""
    missing = []
    for name in slack_variables(settings):
        try:
            settings.require(name)
        except SettingsError:
            missing.append(name)
    return missing


def build_bot_services(settings: Settings) -> BotServices:
    """Database, n8n, readiness and (when an LLM is configured) the pipeline, from settings."""
    from bot.services import BotServices
    from core.kernel.db import make_engine, make_session_factory
    from core.n8n import N8nClient
    from core.observability.readiness import probe_from_settings
    from core.pipeline import build_services as build_pipeline_services

    engine = make_engine(settings.database_url)
    session_factory = make_session_factory(engine)
    n8n = N8nClient.from_settings(settings)
    readiness = probe_from_settings(settings, engine=engine)
    pipeline = None
    if settings.llm_configured:
        # The services live as long as the process: the n8n-mcp validator is never closed.
        # A replica that is not ready starts no run.
        pipeline = build_pipeline_services(
            settings, session_factory=session_factory, n8n=n8n, readiness=readiness
        )
    else:
        log.warning("no LLM configured: requests will answer with the settings to set")
    return BotServices(
        settings=settings,
        session_factory=session_factory,
        pipeline=pipeline,
        n8n=n8n,
        readiness=readiness,
    )


@dataclass
class Server:
    """What `clixen serve` runs: the ASGI app (Slack endpoint, /healthz, HTTP API) and the Bolt
    app (None while Slack is not configured in development; `missing` names what to set)."""

    http_app: Starlette
    bolt_app: App | None
    missing: list[str]


def build_server(settings: Settings, services: BotServices) -> Server:
    """The server app of `clixen serve`: raises SettingsError for missing Slack variables
    outside development; in development serves everything else and answers /slack/events 503."""
    from api import create_api_app
    from api.connect import connect_routes, link_opener
    from api.operations import operation_routes
    from bot.app import create_app
    from bot.server import create_server_app
    from bot.triggers import trigger_intake

    missing = missing_slack_variables(settings)
    if missing and settings.environment != "development":
        # Outside development a server without Slack is a broken deploy: fail fast (exit 2).
        settings.require(*slack_variables(settings))
    bolt_app = None if missing else create_app(settings=settings, services=services)
    api_app = create_api_app(
        settings=settings, session_factory=services.session_factory, n8n=services.n8n
    )
    socket_mode = bolt_app is not None and bool(settings.slack_app_token)
    http_app = create_server_app(
        bolt_app,
        signing_secret=settings.slack_signing_secret,
        api_app=api_app,
        slack_route=not socket_mode,
        slack_missing=missing,
        store_event=trigger_intake(services, bolt_app.client) if bolt_app is not None else None,
        extra_routes=[
            *operation_routes(settings=settings, readiness=services.readiness),
            *connect_routes(
                link_opener(
                    settings=settings, session_factory=services.session_factory, n8n=services.n8n
                )
            ),
        ],
    )
    return Server(http_app=http_app, bolt_app=bolt_app, missing=missing)


class SlackUnreachable(ClixenError):
    """The Slack Web API did not confirm the bot token at start-up."""

    code = "slack_unreachable"


# Start-up tries auth.test this many times, waiting 1 s, 2 s, … between tries (a network blip).
SLACK_START_TRIES = 3


def check_slack(settings: Settings, *, sleep: Any = None) -> None:
    """Slack's auth.test with the bot token, retried over a short network blip; raises
    SlackUnreachable saying what failed, where, and what to check. Nothing to check while
    Slack is not configured."""
    import time
    import urllib.error

    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError, SlackClientError

    if missing_slack_variables(settings):
        return
    where = settings.slack_api_url or "https://slack.com/api/"
    client = WebClient(token=settings.slack_bot_token, base_url=where, timeout=10)
    for attempt in range(1, SLACK_START_TRIES + 1):
        try:
            client.auth_test()
            return
        except SlackApiError as e:
            raise SlackUnreachable(
                f"Slack refused SLACK_BOT_TOKEN (auth.test at {where}: "
                f"{e.response.get('error', 'error')}): copy the Bot User OAuth Token of the "
                "installed app again (README: Create the Slack app) and start again."
            ) from None
        except (urllib.error.URLError, OSError, SlackClientError) as e:
            reason = getattr(e, "reason", None) or e
            if attempt == SLACK_START_TRIES:
                raise SlackUnreachable(
                    f"The Slack Web API at {where} did not answer auth.test "
                    f"({SLACK_START_TRIES} tries): {str(reason)[:200]}. Check SLACK_API_URL "
                    "(unset means https://slack.com/api/) and this host's network or proxy, then "
                    "start again; nothing was started."
                ) from None
            log.warning("Slack API at %s did not answer (%s); trying again", where, reason)
            (sleep or time.sleep)(float(2 ** (attempt - 1)))


def _serve(args: argparse.Namespace) -> int:
    from core.kernel.settings import get_settings

    settings = get_settings()
    settings.require("DATABASE_URL", "N8N_URL", "N8N_API_KEY")
    if missing_slack_variables(settings) and settings.environment != "development":
        settings.require(*slack_variables(settings))  # before opening anything
    check_slack(settings)  # before any child process (n8n-mcp) is started
    services = build_bot_services(settings)
    try:
        return _run_server(args, settings, services)
    finally:
        # Whatever ended the server (an error at start included), n8n-mcp ends with it.
        if services.pipeline is not None and services.pipeline.mcp is not None:
            services.pipeline.mcp.close()


def _run_server(args: argparse.Namespace, settings: Settings, services: BotServices) -> int:
    _warm_up(services)
    server = build_server(settings, services)
    if server.bolt_app is None:
        log.warning(
            "SLACK NOT CONFIGURED: set %s (see .env.example) and restart; until then "
            "/slack/events answers 503 while /healthz, the HTTP API and the scheduler run",
            " and ".join(server.missing),
        )
    if server.bolt_app is not None:
        from bot.triggers import start_triggers

        # Slack triggers: who may listen where (over Slack), and the worker that sends events
        # to n8n; stopped by `services.stop`.
        services.triggers = start_triggers(services, server.bolt_app.client)
    if args.port:  # --port wins over PORT
        settings = settings.model_copy(update={"port": args.port})
    scheduler = None if args.no_scheduler else _start_scheduler(settings, server, services)

    def on_stop() -> None:
        log.info("stopping: no new requests; runs in progress end after their current step")
        if services.pipeline is not None:
            services.pipeline.stopping.set()

    try:
        _serve_until_stopped(server, settings, on_stop=on_stop)
    finally:
        finished = stop_gracefully(services, scheduler, grace_s=settings.shutdown_grace_s)
    if not finished:
        # Workers still inside a step past the grace period: their runs were handed over, and
        # they find their claims gone at their next save. Do not wait for them.
        logging.shutdown()
        os._exit(0)
    return 0


def _warm_up(services: BotServices) -> None:
    """Start the slow checks before the first request needs them."""
    if services.readiness is not None:
        services.readiness.warm()  # the first /readyz answers from a finished check
    if services.pipeline is not None and services.pipeline.mcp is not None:
        # The first run does not wait for n8n-mcp to start; a failure here is only logged
        # (readiness reports it, and the next validation starts it again).
        threading.Thread(
            target=_start_quietly, args=(services.pipeline.mcp,), name="mcp-warm", daemon=True
        ).start()


def _start_scheduler(settings: Settings, server: Server, services: BotServices) -> Any:
    """The running scheduler, telling Slack what it did (the log when Slack is not configured)."""
    from bot.notifier import SlackNotifier
    from core.scheduler.runner import start_scheduler

    notifier: Notifier = (
        SlackNotifier(server.bolt_app.client, services)
        if server.bolt_app is not None
        else LogNotifier()
    )
    return start_scheduler(
        settings=settings,
        notifier=notifier,
        services=services.pipeline,
        session_factory=services.session_factory,
        readiness=services.readiness,
    )


def _serve_until_stopped(
    server: Server, settings: Settings, *, on_stop: Callable[[], None]
) -> None:
    """Serve over Socket Mode when Slack has an app token, else over HTTP, until a signal."""
    from bot.server import serve_http, serve_socket_mode

    if server.bolt_app is not None and settings.slack_app_token:
        serve_socket_mode(
            server.bolt_app,
            app_token=settings.slack_app_token,
            http_app=server.http_app,
            settings=settings,
            on_stop=on_stop,
        )
    else:
        serve_http(server.http_app, settings=settings, on_stop=on_stop)


def _start_quietly(mcp: Any) -> None:
    from core.validation.mcp import McpUnavailable

    try:
        mcp.start()
    except McpUnavailable as e:
        log.warning("n8n-mcp did not start: %s", e)


def stop_gracefully(services: BotServices, scheduler: Any, *, grace_s: float) -> bool:
    """The end of `clixen serve` after SIGTERM: no scheduled job starts any more, run workers
    finish the step in progress (up to `grace_s`), every run this process still holds is
    released and announced to the other replicas, which take them over at once. True when
    every run worker ended within the grace period."""
    from core.scheduler.handover import announce_handover

    if services.pipeline is not None:
        services.pipeline.stopping.set()
    if scheduler is not None:
        scheduler.shutdown(wait=False)
    finished = services.stop(grace_s)
    pipeline = services.pipeline
    if pipeline is not None:
        # Runs whose workers ended between steps released their claims themselves; the rest
        # (queued here, or a step still going past the grace period) are released now.
        released = pipeline.claims.release_all()
        announce_handover(services.session_factory)
        log.info("handed over runs to the other replicas (released at exit: %s)", released)
        if pipeline.mcp is not None:
            pipeline.mcp.close()
    log.info("stopped (%s)", "all runs paused" if finished else f"grace of {grace_s:.0f} s over")
    return finished
