"""Listeners, one package per Slack surface, each with `register(app)`."""

from __future__ import annotations

import re

from slack_bolt import App

from bot.listeners import actions, commands, events, views
from bot.listeners.actions.acknowledge import handle_any_other_action


def register_listeners(app: App) -> None:
    commands.register(app)
    actions.register(app)
    events.register(app)
    views.register(app)
    # Last: any other button (a link button n8n's Slack node posted) is acknowledged.
    app.action(re.compile(".*"))(handle_any_other_action)
