"""Owning a workflow in Slack: the Pause/Resume, Rename, Delete (confirmed), Runs and Explain
buttons (one small builder per surface, so other button rows merge beside them), the rename and
delete modals, the message that says who did what, and the history lines of the versions view.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.blocks.common import (
    Block,
    actions,
    button,
    confirm_dialog,
    context,
    escape,
    option,
    plain,
    section,
)

RENAME_CALLBACK = "workflow_rename_submit"
DELETE_CALLBACK = "workflow_delete_submit"

PAUSED_STATUSES = frozenset({"inactive"})

_DONE_EMOJI = {
    "paused": ":double_vertical_bar:",
    "resumed": ":arrow_forward:",
    "renamed": ":pencil2:",
    "deleted": ":wastebasket:",
    "restored": ":leftwards_arrow_with_hook:",
}


def is_paused(status: str) -> bool:
    return status in PAUSED_STATUSES


def status_word(status: str) -> str:
    """How a workflow's status reads in Slack: `inactive` is "paused"."""
    return "paused" if is_paused(status) else status.replace("_", " ")


def delete_confirm(name: str) -> Block:
    return confirm_dialog(
        "Delete this workflow?",
        f"*{escape(name)}* is removed from n8n with its test copies and stops running. Its "
        "versions are kept: a project owner can restore it for 30 days.",
        "Delete",
    )


def own_buttons(*, workflow_id: int, name: str, status: str) -> Block:
    """Pause or Resume (by status), Rename…, Runs, Explain, Delete (confirmed): the actions row
    under a workflow's summary and its versions view."""
    value = str(workflow_id)
    toggle = (
        button("Resume", "workflow_resume", value, style="primary")
        if is_paused(status)
        else button("Pause", "workflow_pause", value)
    )
    return actions(
        toggle,
        button("Rename…", "workflow_rename", value),
        button("Runs", "workflow_runs", value),
        button("Explain", "workflow_explain", value),
        button("Delete", "workflow_delete", value, style="danger", confirm=delete_confirm(name)),
        block_id=f"workflow_own:{workflow_id}",
    )


def home_menu(*, workflow_id: int, status: str) -> Block:
    """The App Home row's overflow menu (a home tab has no message to answer in: Rename and
    Delete open a modal, the others publish the home again or open a modal)."""
    value = str(workflow_id)
    toggle = (
        option("Resume", f"resume:{value}")
        if is_paused(status)
        else option("Pause", f"pause:{value}")
    )
    return {
        "type": "overflow",
        "action_id": "home_workflow_menu",
        "options": [
            toggle,
            option("Runs", f"runs:{value}"),
            option("Explain", f"explain:{value}"),
            option("Rename…", f"rename:{value}"),
            option("Delete…", f"delete:{value}"),
        ],
    }


MENU_CHOICES = frozenset({"pause", "resume", "runs", "explain", "rename", "delete"})


def parse_menu_value(value: str) -> tuple[str, int]:
    """(choice, workflow id) from an overflow option value (untrusted: ValueError when not one
    of ours)."""
    choice, _, wid = value.partition(":")
    if choice not in MENU_CHOICES:
        raise ValueError(value)
    return choice, int(wid)


def rename_modal(*, workflow_id: int, name: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": RENAME_CALLBACK,
        "private_metadata": str(workflow_id),
        "title": plain("Rename workflow", 24),
        "submit": plain("Rename", 24),
        "close": plain("Cancel", 24),
        "blocks": [
            {
                "type": "input",
                "block_id": "name",
                "label": plain("New name"),
                "element": {
                    "type": "plain_text_input",
                    "action_id": "value",
                    "initial_value": name[:200],
                    "max_length": 200,
                },
            }
        ],
    }


def delete_modal(*, workflow_id: int, name: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": DELETE_CALLBACK,
        "private_metadata": str(workflow_id),
        "title": plain("Delete workflow", 24),
        "submit": plain("Delete", 24),
        "close": plain("Cancel", 24),
        "blocks": [
            section(
                f"Delete *{escape(name)}*? It is removed from n8n with its test copies and "
                "stops running. Its versions are kept: a project owner can restore it for 30 "
                "days (`/clixen restore`)."
            )
        ],
    }


def done_text(*, kind: str, name: str, actor: str, previous_name: str | None = None) -> str:
    """What was done and by whom ("⏸ @ada paused *News*"; the user id shown as a mention)."""
    emoji = _DONE_EMOJI.get(kind, ":information_source:")
    if kind == "renamed" and previous_name is not None:
        what = f"renamed *{escape(previous_name)}* to *{escape(name)}*"
    else:
        what = f"{kind} *{escape(name)}*"
    line = f"{emoji} <@{escape(actor)}> {what}."
    if kind == "paused":
        line += " It does not run, is not repaired and sends no failure alerts until resumed."
    elif kind == "deleted":
        line += " Its versions are kept; a project owner can restore it for 30 days."
    return line


def unchanged_text(*, kind: str, name: str) -> str:
    already = {
        "paused": "is already paused",
        "resumed": "is already running",
        "renamed": "already has that name",
        "deleted": "is already deleted",
    }.get(kind, "is unchanged")
    return f"*{escape(name)}* {already}; nothing changed."


@dataclass(frozen=True)
class EventRow:
    kind: str
    actor: str
    created_at: dt.datetime
    detail: str | None = None


def event_line(event: EventRow) -> str:
    """One history line of the versions view: "⏸ paused by @ada · 2026-12-07 10:00"."""
    emoji = _DONE_EMOJI.get(event.kind, ":information_source:")
    detail = f" ({escape(event.detail)})" if event.detail else ""
    who = f"<@{escape(event.actor)}>" if not event.actor.startswith("cli:") else escape(event.actor)
    return f"{emoji} {event.kind}{detail} by {who} · {event.created_at:%Y-%m-%d %H:%M}"


def events_block(events: Sequence[EventRow]) -> Block | None:
    """The pause/resume/rename/delete history under the versions (newest first, last 10)."""
    if not events:
        return None
    newest = sorted(events, key=lambda e: e.created_at, reverse=True)[:10]
    return context("\n".join(event_line(e) for e in newest))
