"""Shortcuts: the message shortcut "Run a workflow on this message"."""

from __future__ import annotations

from slack_bolt import App

from bot.blocks.triggers import MESSAGE_SHORTCUT
from bot.listeners.shortcuts.run_on_message import handle_run_on_message


def register(app: App) -> None:
    app.shortcut(MESSAGE_SHORTCUT)(handle_run_on_message)
