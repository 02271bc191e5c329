"""What every listener reads from Bolt's context."""

from __future__ import annotations

from slack_bolt import BoltContext

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
