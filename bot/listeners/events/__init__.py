from __future__ import annotations

from slack_bolt import App

from bot.listeners.events.app_home import handle_app_home_opened
from bot.listeners.events.messages import handle_app_mention
from bot.listeners.events.triggers import handle_message, handle_trigger_event


def register(app: App) -> None:
    app.event("app_home_opened")(handle_app_home_opened)
    app.event("app_mention")(handle_app_mention)
    app.event("message")(handle_message)
    app.event("reaction_added")(handle_trigger_event)
    app.event("member_joined_channel")(handle_trigger_event)
    app.event("member_left_channel")(handle_trigger_event)
