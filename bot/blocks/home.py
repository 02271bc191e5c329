"""The App Home dashboard: project switcher, workflows (cursor pages of 10), quota use,
connected accounts."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.blocks.common import (
    Block,
    actions,
    button,
    context,
    divider,
    escape,
    header,
    option,
    section,
)
from bot.blocks.connect import accounts_blocks
from bot.blocks.lifecycle import home_menu
from bot.blocks.messages import QuotaView, WorkflowRow, quota_text, workflow_line
from core.connect import AccountInfo

PAGE_SIZE = 10


@dataclass(frozen=True)
class ProjectChoice:
    id: int
    name: str
    role: str


def page_value(project_id: int, cursor: str, direction: str) -> str:
    return json.dumps({"p": project_id, "c": cursor, "d": direction}, separators=(",", ":"))


def parse_page_value(value: str) -> tuple[int, str, str]:
    """(project_id, cursor, direction) from a pagination button value (untrusted input)."""
    data = json.loads(value)
    direction = "prev" if data.get("d") == "prev" else "next"
    return int(data["p"]), str(data["c"]), direction


def workflow_home_row(row: WorkflowRow) -> Block:
    """A workflow's line on App Home, with its menu (pause/resume, runs, explain, rename,
    delete) when it is not deleted."""
    if row.status == "deleted":
        return section(workflow_line(row))
    return section(workflow_line(row), accessory=home_menu(workflow_id=row.id, status=row.status))


def review_home_text(*, on: bool, waiting: int) -> str:
    """The project's review-before-live line (the setting, what waits for an owner)."""
    state = ":lock: Review before live: *on*" if on else "Review before live: off"
    if waiting:
        noun = "version waits" if waiting == 1 else "versions wait"
        state += f" · {waiting} {noun} for an owner (`/clixen review`)"
    return state


def home_view(
    *,
    projects: Sequence[ProjectChoice],
    current: ProjectChoice,
    workflows: Sequence[WorkflowRow],
    next_cursor: str | None,
    prev_cursor: str | None,
    quota: QuotaView | None,
    accounts: Sequence[AccountInfo] = (),
    review: tuple[bool, int] = (False, 0),
) -> dict[str, Any]:
    """The `home` view for views.publish."""
    switcher: Block = {
        "type": "static_select",
        "action_id": "home_project_select",
        "placeholder": {"type": "plain_text", "text": "Project"},
        "options": [option(f"{p.name} ({p.role})", str(p.id)) for p in projects[:100]],
        "initial_option": option(f"{current.name} ({current.role})", str(current.id)),
    }
    blocks: list[Block] = [
        header("Clixen"),
        section(f"*Project:* {escape(current.name)}", accessory=switcher),
    ]
    if quota is not None:
        blocks.append(context(quota_text(quota)))
    if review[0] or review[1]:
        blocks.append(context(review_home_text(on=review[0], waiting=review[1])))
    blocks.append(divider())
    if workflows:
        blocks.extend(workflow_home_row(row) for row in workflows)
    else:
        blocks.append(
            section("No workflows here yet. Try `/clixen every hour post the weather to #general`.")
        )
    nav = []
    if prev_cursor:
        nav.append(
            button("← Previous", "home_page_prev", page_value(current.id, prev_cursor, "prev"))
        )
    if next_cursor:
        nav.append(button("Next →", "home_page_next", page_value(current.id, next_cursor, "next")))
    if nav:
        blocks.append(actions(*nav, block_id="home_pages"))
    blocks.append(divider())
    blocks.extend(accounts_blocks(accounts))
    return {"type": "home", "blocks": blocks}
