"""What every listener reads from Bolt's context, and how it hands work off after the ack."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import BoltContext
from slack_sdk import WebClient

from bot.errors import handle_error
from bot.services import BotServices


def services_of(context: BoltContext) -> BotServices:
    services = context["services"]
    assert isinstance(services, BotServices)
    return services


def team_of(context: BoltContext) -> str:
    """The workspace id; every query is scoped by it."""
    team = context.team_id or context.enterprise_id
    if not team:
        raise ValueError("a Slack request without a team id")
    return team


def user_of(context: BoltContext) -> str:
    if not context.user_id:
        raise ValueError("a Slack request without a user id")
    return context.user_id


def after_ack(
    context: BoltContext, body: dict[str, Any], client: WebClient, work: Callable[[], None]
) -> None:
    """Do `work` on an intake thread and return at once, so the listener's thread (and with it
    the HTTP response carrying the ack) never waits for it. Errors reach the user through the one
    error handler, as if the listener had raised them."""

    services_of(context).after_ack(_guarded(context, body, client, work))


def on_run_worker(
    context: BoltContext, body: dict[str, Any], client: WebClient, work: Callable[[], None]
) -> None:
    """Like `after_ack`, for n8n work that can take seconds (a rollback, a test run): it goes to
    the run workers, so it never holds up the intake threads or the dispatch threads."""
    services_of(context).submit(_guarded(context, body, client, work))


def _guarded(
    context: BoltContext, body: dict[str, Any], client: WebClient, work: Callable[[], None]
) -> Callable[[], None]:
    def guarded() -> None:
        try:
            work()
        except Exception as e:
            handle_error(e, body, context, client)

    return guarded
