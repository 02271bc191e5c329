"""App Home opened: publish the user's dashboard (their active project's workflows, quotas
and accounts)."""

from __future__ import annotations

from typing import Any

from slack_bolt import BoltContext
from slack_sdk import WebClient

from bot.home import publish_home
from bot.listeners.context import after_ack, services_of, team_of, user_of


def handle_app_home_opened(
    event: dict[str, Any], body: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
    if event.get("tab", "home") != "home":
        return

    def publish() -> None:
        services = services_of(context)
        publish_home(services, client, team_id=team_of(context), user_id=user_of(context))

    after_ack(context, body, client, publish)
