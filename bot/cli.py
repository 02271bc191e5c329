"""`clixen serve`: the Slack bot (Socket Mode or HTTP), the HTTP API and the scheduler."""

from __future__ import annotations

import argparse
import logging
from typing import Any

from slack_sdk import WebClient

from bot.app import create_app
from bot.server import create_server_app, serve_http, serve_socket_mode
from bot.services import BotServices
from core.catalog import default_catalog
from core.db import make_engine, make_session_factory
from core.llm import LLMClient
from core.mcp_validation import McpValidator
from core.n8n import N8nClient
from core.pipeline import PipelineServices
from core.settings import Settings, get_settings
from core.templates import TemplateLibrary, TemplatesUnavailable

log = logging.getLogger(__name__)


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "serve", help="run the Slack bot (Socket Mode if SLACK_APP_TOKEN is set, else HTTP)"
    )
    p.add_argument("--port", type=int, default=None, help="HTTP port (default: PORT or 3000)")
    p.add_argument("--no-scheduler", action="store_true", help="do not run scheduled jobs here")
    p.set_defaults(func=_serve)


class SlackNotifier:
    """Scheduler reports (smoke test regressions…) posted to Slack."""

    def __init__(self, client: WebClient) -> None:
        self.client = client

    def post(self, channel: str, text: str, *, thread_ts: str | None = None) -> str | None:
        response = self.client.chat_postMessage(channel=channel, text=text, thread_ts=thread_ts)
        return str(response.get("ts")) if response.get("ts") else None


def build_services(settings: Settings) -> BotServices:
    """Database, n8n and (when an LLM is configured) the pipeline, from settings."""
    session_factory = make_session_factory(make_engine(settings.database_url))
    n8n = N8nClient.from_settings(settings)
    pipeline = None
    if settings.llm_configured:
        try:
            templates: TemplateLibrary | None = TemplateLibrary.from_settings(settings)
        except TemplatesUnavailable:
            templates = None
        pipeline = PipelineServices(
            session_factory=session_factory,
            n8n=n8n,
            llm=LLMClient.from_settings(settings),
            catalog=default_catalog(),
            mcp=McpValidator.from_settings(settings),
            templates=templates,
            settings=settings,
        )
    else:
        log.warning("no LLM configured: requests will answer with the settings to set")
    return BotServices(
        settings=settings, session_factory=session_factory, pipeline=pipeline, n8n=n8n
    )


def _serve(args: argparse.Namespace) -> int:
    settings = get_settings()
    socket_mode = bool(settings.slack_app_token)
    settings.require(
        "DATABASE_URL",
        "N8N_URL",
        "N8N_API_KEY",
        "SLACK_BOT_TOKEN",
        *(("SLACK_APP_TOKEN",) if socket_mode else ("SLACK_SIGNING_SECRET",)),
    )
    services = build_services(settings)
    bolt_app = create_app(settings=settings, services=services)
    port = args.port or settings.port
    scheduler = None
    if not args.no_scheduler:
        from core.scheduler.runner import start_scheduler

        scheduler = start_scheduler(
            settings=settings,
            notifier=SlackNotifier(bolt_app.client),
            services=services.pipeline,
            session_factory=services.session_factory,
        )
    api_app = _api_app(settings, services)
    try:
        if socket_mode:
            assert settings.slack_app_token
            http_app = create_server_app(bolt_app, api_app=api_app, slack_route=False)
            serve_socket_mode(
                bolt_app, app_token=settings.slack_app_token, http_app=http_app, port=port
            )
        else:
            serve_http(create_server_app(bolt_app, api_app=api_app), port=port)
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)
        services.shutdown(wait=False)
    return 0


def _api_app(settings: Settings, services: BotServices) -> Any:
    """The HTTP API, when this installation has it (api/ is a separate front end)."""
    try:
        from api import create_api_app
    except ImportError:
        log.info("no HTTP API package installed; serving Slack and /healthz only")
        return None
    return create_api_app(
        settings=settings, session_factory=services.session_factory, n8n=services.n8n
    )
