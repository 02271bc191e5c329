from __future__ import annotations

from typing import Any

from slack_bolt import BoltContext
from slack_sdk import WebClient

from bot.home import publish_home
from bot.listeners.context import services_of, team_of, user_of


def handle_app_home_opened(event: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    if event.get("tab", "home") != "home":
        return
    publish_home(services_of(context), client, team_id=team_of(context), user_id=user_of(context))
