"""Listeners, one package per Slack surface, each with `register(app)`."""

from __future__ import annotations

from slack_bolt import App

from bot.listeners import actions, commands, events, shortcuts, views


def register_listeners(app: App) -> None:
    commands.register(app)
    actions.register(app)
    events.register(app)
    views.register(app)
    shortcuts.register(app)
