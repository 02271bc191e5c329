"""Modals: the secret form (a secret value is typed here, never into a channel)."""

from __future__ import annotations

from typing import Any

from bot.blocks.common import context, escape, plain
from bot.blocks.credentials import hosts_input

SECRET_CALLBACK = "secret_submit"  # noqa: S105 (a callback id, not a secret)


def secret_modal(*, project_id: int, project_name: str) -> dict[str, Any]:
    def text_input(block_id: str, label: str, hint: str, optional: bool = False) -> dict[str, Any]:
        return {
            "type": "input",
            "block_id": block_id,
            "optional": optional,
            "label": plain(label),
            "hint": plain(hint, 150),
            "element": {"type": "plain_text_input", "action_id": "value"},
        }

    return {
        "type": "modal",
        "callback_id": SECRET_CALLBACK,
        "private_metadata": str(project_id),
        "title": plain("Store a secret", 24),
        "submit": plain("Save", 24),
        "close": plain("Cancel", 24),
        "blocks": [
            context(f"Saved encrypted in project *{escape(project_name)}*; only workflows use it."),
            text_input(
                "name",
                "Name",
                "e.g. GITHUB_TOKEN (capitals, digits, _); workflows refer to it by name",
            ),
            text_input("value", "Value", "Stored encrypted; it is never shown again"),
            text_input(
                "credential_type",
                "n8n credential type",
                "Optional, e.g. httpHeaderAuth, to create it as an n8n credential",
                optional=True,
            ),
            hosts_input(required=False),
        ],
    }
