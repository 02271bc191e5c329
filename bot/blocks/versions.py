"""Versions and the rollback picker: a version select, the diff, then a confirmed button."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from bot.blocks.common import (
    Block,
    actions,
    button,
    confirm_dialog,
    context,
    escape,
    option,
    section,
)
from core.n8n.workflow_json import WorkflowDiff


@dataclass(frozen=True)
class VersionRow:
    version: int
    created_at: dt.datetime
    source: str
    created_by: str
    status: str


def version_label(v: VersionRow) -> str:
    """`vN · date · source · who`: the option text of the version select."""
    return f"v{v.version} · {v.created_at:%Y-%m-%d %H:%M} · {v.source} · {v.created_by}"


def versions_blocks(
    *, workflow_id: int, name: str, head_version: int, versions: Sequence[VersionRow]
) -> list[Block]:
    lines = []
    for v in sorted(versions, key=lambda r: r.version, reverse=True)[:20]:
        marker = " ← current" if v.version == head_version else ""
        lines.append(f"• {escape(version_label(v))} ({v.status}){marker}")
    text = f"*Versions of {escape(name)}*\n" + ("\n".join(lines) or "No versions yet.")
    return [
        section(text),
        actions(button("Roll back…", "workflow_rollback", str(workflow_id))),
    ]


def rollback_value(workflow_id: int, version: int) -> str:
    return f"{workflow_id}:{version}"


def parse_rollback_value(value: str) -> tuple[int, int]:
    """(workflow_id, version) from a select option or button value (untrusted input)."""
    wid, _, ver = value.partition(":")
    return int(wid), int(ver)


# A section's text is capped by Slack (3,000 characters): the rest of a long diff is counted.
MAX_DIFF_LINES = 15


def diff_lines(diff: WorkflowDiff) -> list[str]:
    """What changes going from the current version to the target, parameter by parameter
    ("Post to Slack: channelId #news → #ops", "+ node Filter", "Trigger → Filter connected")."""
    lines = diff.lines()
    if len(lines) > MAX_DIFF_LINES:
        lines = [*lines[: MAX_DIFF_LINES - 1], f"… and {len(lines) - MAX_DIFF_LINES + 1} more"]
    return lines or ["no differences: the same nodes, connections and settings"]


def rollback_blocks(
    *,
    workflow_id: int,
    name: str,
    head_version: int,
    versions: Sequence[VersionRow],
    selected: int | None = None,
    diff: Sequence[str] | None = None,
) -> list[Block]:
    """Pick a version; once one is picked, show its diff and the confirmed Roll back button."""
    choices = [v for v in sorted(versions, key=lambda r: r.version, reverse=True)]
    choices = [v for v in choices if v.version != head_version][:100]
    if not choices:
        return [section(f"*{escape(name)}* has no earlier version to roll back to.")]
    select: Block = {
        "type": "static_select",
        "action_id": "rollback_select",
        "placeholder": {"type": "plain_text", "text": "Choose a version"},
        "options": [
            option(version_label(v), rollback_value(workflow_id, v.version)) for v in choices
        ],
    }
    picked = next((v for v in choices if v.version == selected), None)
    if picked is not None:
        select["initial_option"] = option(
            version_label(picked), rollback_value(workflow_id, picked.version)
        )
    blocks = [
        section(
            f"*Roll back {escape(name)}* (current: v{head_version})",
        ),
        actions(select, block_id=f"rollback_pick:{workflow_id}"),
    ]
    if picked is not None:
        change = "\n".join(escape(line) for line in (diff or []))
        blocks.append(section(f"*v{head_version} → v{picked.version}*\n{change}"))
        blocks.append(
            actions(
                button(
                    f"Roll back to v{picked.version}",
                    "rollback_confirm",
                    rollback_value(workflow_id, picked.version),
                    style="danger",
                    confirm=confirm_dialog(
                        "Roll back?",
                        f"Redeploy v{picked.version} of *{escape(name)}* as its new current "
                        "version.",
                        "Roll back",
                    ),
                ),
                block_id=f"rollback_go:{workflow_id}",
            )
        )
        blocks.append(context("Rolling back adds a new version; nothing is deleted."))
    return blocks


def rollback_done_blocks(
    *, name: str, from_version: int, new_version: int, actor: str
) -> list[Block]:
    return [
        section(
            f":rewind: <@{escape(actor)}> rolled *{escape(name)}* back to v{from_version}; "
            f"it is deployed as v{new_version}."
        )
    ]
