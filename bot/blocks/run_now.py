"""The test run as Slack shows it (pure builders): what will really happen, then what each node
did. Every n8n-supplied string (node names, items, error messages) is escaped."""

from __future__ import annotations

from collections.abc import Sequence

from bot.blocks.common import Block, actions, button, clip, context, escape, section
from core.run_now import NodeResult, RunNowReport

CONFIRM_ACTION = "workflow_test_run_confirm"
CANCEL_ACTION = "workflow_test_run_cancel"
MAX_NODE_SECTIONS = 40  # Slack allows 50 blocks per message
_MARK = {"ran": ":white_check_mark:", "failed": ":x:", "not run": ":white_circle:"}


def confirm_test_run_blocks(
    *, workflow_id: int, name: str, effects: Sequence[tuple[str, str]]
) -> list[Block]:
    """Before a test run whose nodes act outside n8n: which ones, and Run / Cancel."""
    lines = "\n".join(f"• *{escape(node)}*: {escape(what)}" for node, what in effects)
    value = str(workflow_id)
    return [
        section(
            f"*Test run of {escape(name)}*: the workflow runs once now, on a test copy in n8n, "
            "with a sample in place of its trigger. These nodes *really* act outside n8n "
            f"(they post, send, write or call out):\n{lines}"
        ),
        actions(
            button("Run the test", CONFIRM_ACTION, value, style="primary"),
            button("Cancel", CANCEL_ACTION, value),
            block_id=f"test_run:{workflow_id}",
        ),
    ]


def confirm_test_run_text(name: str) -> str:
    """The confirmation's fallback text (notifications, screen readers)."""
    return f"Test run of {escape(name)}: confirm"


def running_blocks(name: str) -> list[Block]:
    return [section(f":hourglass_flowing_sand: Testing *{escape(name)}* now…")]


def cancelled_blocks() -> list[Block]:
    return [context("Test run cancelled: nothing ran.")]


def run_result_text(name: str, report: RunNowReport) -> str:
    """The message's fallback text (notifications, screen readers)."""
    if report.ok:
        return f"Test run of {escape(name)} succeeded."
    where = f" at {escape(report.node)}" if report.node else ""
    verb = "failed" if report.status == "error" else escape(report.status)
    return f"Test run of {escape(name)} {verb}{where}: {escape(report.message)}"


def _node_line(r: NodeResult) -> str:
    mark = _MARK.get(r.status, ":grey_question:")
    count = "" if r.status == "not run" else f" · {r.items} item{'s' if r.items != 1 else ''} out"
    line = f"{mark} *{escape(r.name)}* · {r.status}{count}"
    if r.sample:
        line += f" · _sample: {escape(r.sample)}_"
    if r.status == "failed" and r.message:
        line += f"\n> {escape(clip(r.message, 500))}"
    elif r.first_item:
        item = escape(r.first_item).replace("`", "'")
        line += f"\n`{item}`"
    return line


def run_result_blocks(name: str, report: RunNowReport) -> list[Block]:
    """One message: the verdict, then each node (items out, first item trimmed and masked, or
    n8n's message for the failing one)."""
    if report.ok:
        verdict = f":white_check_mark: *Test run of {escape(name)} succeeded.*"
    elif report.node:
        verdict = (
            f":x: *Test run of {escape(name)} failed at {escape(report.node)}:* "
            f"{escape(clip(report.message, 1000))}"
        )
    else:
        verdict = f":x: *Test run of {escape(name)} {escape(report.status)}:* " + escape(
            clip(report.message or "no execution was seen", 1000)
        )
    blocks = [section(verdict)]
    shown = report.nodes[:MAX_NODE_SECTIONS]
    blocks.extend(section(_node_line(r)) for r in shown)
    more = len(report.nodes) - len(shown)
    note = "Ran on a test copy in n8n, deleted afterwards; no version was made."
    if more > 0:
        note = f"{more} more nodes not shown. " + note
    blocks.append(context(note))
    return blocks
