from __future__ import annotations

from slack_bolt import App

from bot.listeners.commands.clixen import handle_clixen_command


def register(app: App) -> None:
    app.command("/clixen")(handle_clixen_command)
