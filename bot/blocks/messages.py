"""Short replies: help, errors, quota, workflow list, project list (pure builders)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.blocks.common import Block, context, escape, section
from bot.blocks.lifecycle import status_word

HELP_TEXT = (
    "*Clixen* turns a plain-language request into a tested, running n8n workflow.\n"
    "• `/clixen <request>` or `/clixen create <request>`: build a workflow "
    "(e.g. `/clixen every morning post new items of https://example.com/feed to #news`)\n"
    "• `/clixen list`: the workflows of your current project\n"
    "• `/clixen versions <workflow>`: its deployed versions\n"
    "• `/clixen rollback <workflow> [version]`: redeploy an earlier version\n"
    "• `/clixen pause <workflow>` / `/clixen resume <workflow>`: stop it running, start it again\n"
    "• `/clixen rename <workflow>` (or `/clixen rename #12 to New name`), "
    "`/clixen delete <workflow>` (asks first; an owner can restore it for 30 days)\n"
    "• `/clixen runs <workflow>`: its last runs, why one failed; "
    "`/clixen explain <workflow>`: what it does\n"
    "• `/clixen digest daily|weekly [#channel]` or `off`: the project's digest (owners)\n"
    "• `/clixen review on|off`: every new version waits for an owner's approval (owners); "
    "`/clixen review`: the setting and what waits\n"
    "• `/clixen restore <workflow>`: bring a deleted workflow back (project owners)\n"
    "• `/clixen project [name]`: show your projects, or switch to (or create) one\n"
    "• `/clixen quota`: your use of today's limits\n"
    "• `/clixen secret`: store a credential for this project (opens a private form)\n"
    "• `/clixen connect google-sheets`: connect an account (Google, Microsoft, HubSpot…)\n"
    "• `/clixen run <workflow> [text]`: run a workflow that starts from Slack, now; "
    "`/clixen triggers`: which workflows listen in this channel\n"
    "• `@Clixen <request>` in a channel starts a run there; reply in its thread with what to "
    "change (when a reply is not clearly a change, I ask first) or to answer its question.\n"
    "• `/clixen help`: this message. The App Home tab is your dashboard."
)


def help_blocks() -> list[Block]:
    return [section(HELP_TEXT)]


def error_text(message: str) -> str:
    """The fallback `text` of an error message (Slack shows it in notifications)."""
    return f":warning: {escape(message)}"


def error_blocks(message: str, error_id: str | None = None) -> list[Block]:
    """A friendly error; unexpected ones carry an id the user can quote to an admin."""
    blocks = [section(f":warning: {escape(message)}")]
    if error_id is not None:
        blocks.append(context(f"Error id `{error_id}`: share it with your Clixen admin."))
    return blocks


@dataclass(frozen=True)
class QuotaView:
    tokens_used: int
    token_limit: int
    deploys_used: int
    deploy_limit: int


def quota_text(quota: QuotaView) -> str:
    return (
        f"Today: *{quota.tokens_used:,}* of {quota.token_limit:,} LLM tokens, "
        f"*{quota.deploys_used}* of {quota.deploy_limit} deployments (limits reset daily, UTC)."
    )


def quota_blocks(quota: QuotaView) -> list[Block]:
    return [section(quota_text(quota))]


@dataclass(frozen=True)
class WorkflowRow:
    id: int
    name: str
    status: str
    head_version: int
    last_execution_status: str | None = None
    last_execution_at: str | None = None  # already formatted


STATUS_EMOJI = {
    "active": ":large_green_circle:",
    "inactive": ":double_vertical_bar:",
    "draft": ":pencil2:",
    "failed": ":red_circle:",
    "needs_reconnect": ":link:",
    "deleted": ":wastebasket:",
}


def workflow_line(row: WorkflowRow) -> str:
    emoji = STATUS_EMOJI.get(row.status, ":white_circle:")
    last = "never run"
    if row.last_execution_status:
        last = f"last run {row.last_execution_status}"
        if row.last_execution_at:
            last += f" {row.last_execution_at}"
    status = status_word(row.status)  # inactive → "paused", needs_reconnect → "needs reconnect"
    return f"{emoji} *{escape(row.name)}* (#{row.id}) · v{row.head_version} · {status} · {last}"


def workflow_list_blocks(project_name: str, rows: Sequence[WorkflowRow], more: bool) -> list[Block]:
    if not rows:
        return [section(f"No workflows in project *{escape(project_name)}* yet.")]
    text = f"Workflows in *{escape(project_name)}*:\n" + "\n".join(workflow_line(r) for r in rows)
    blocks = [section(text)]
    if more:
        blocks.append(context("More on the App Home tab."))
    return blocks


def projects_blocks(current: str, projects: Sequence[tuple[str, str]]) -> list[Block]:
    """`projects` as (name, role) pairs."""
    lines = [
        f"{'▸' if name == current else '•'} *{escape(name)}* ({role})" for name, role in projects
    ]
    return [
        section(f"Current project: *{escape(current)}*\n" + "\n".join(lines)),
        context("Switch with `/clixen project <name>` (creates it if it does not exist)."),
    ]
