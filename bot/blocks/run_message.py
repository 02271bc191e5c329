"""The one message per request: progress while the pipeline works, then its summary."""

from __future__ import annotations

from collections.abc import Sequence

from bot.blocks.common import Block, actions, button, context, escape, section
from bot.blocks.triggers import run_button

# The steps a user sees, in order; the pipeline's ProgressEvent.step names one of them.
STEP_LABELS: list[tuple[str, str]] = [
    ("understanding", "Understanding the request"),
    ("generating", "Generating the workflow"),
    ("validating", "Validating"),
    ("repairing", "Repairing"),
    ("deploying", "Deploying to n8n"),
    ("active", "Active"),
    ("watching", "Watching the first executions"),
]
STEP_INDEX = {name: i for i, (name, _) in enumerate(STEP_LABELS)}


# A message's `text` is its notification and fallback, and Slack parses it as mrkdwn too: every
# builder below escapes what users, the LLM or n8n wrote, like the block builders do.


def request_root_text(user_id: str, request: str) -> str:
    """The message that opens a run's thread when the request came from a slash command."""
    return f"<@{user_id}> asked Clixen: {escape(request)}"


def summary_text(name: str, version: int) -> str:
    return f"{escape(name)} is active (version {version})"


def failure_text(error: str) -> str:
    return f"Failed: {escape(error)}"


def question_text(question: str) -> str:
    return escape(question)


def notice_text(message: str) -> str:
    """A short message in the run's thread (e.g. why an answer was not taken)."""
    return escape(message)


def progress_text(step: str, repair_number: int = 0, repair_cap: int = 0) -> str:
    label = dict(STEP_LABELS).get(step, step.replace("_", " ").capitalize())
    if step == "repairing" and repair_cap:
        label += f" ({repair_number} of {repair_cap})"
    return label


def progress_blocks(
    *,
    request: str,
    step: str,
    message: str = "",
    repair_number: int = 0,
    repair_cap: int = 0,
) -> list[Block]:
    """A checklist of the steps with the current one marked; `message` is the step's detail."""
    current = STEP_INDEX.get(step, 0)
    lines = []
    for i, (name, _) in enumerate(STEP_LABELS):
        if name == "repairing" and step != "repairing" and repair_number == 0:
            continue  # only shown when a repair actually happens
        mark = (
            ":white_check_mark:"
            if i < current
            else (":hourglass_flowing_sand:" if i == current else "▫️")
        )
        label = (
            progress_text(name, repair_number, repair_cap)
            if name == step
            else dict(STEP_LABELS)[name]
        )
        lines.append(f"{mark} {label}")
    blocks = [section(f"*Request:* {escape(request)}"), section("\n".join(lines))]
    if message:
        blocks.append(context(escape(message)))
    return blocks


def workflow_buttons(*, workflow_id: int, n8n_url: str | None, runnable: bool = False) -> Block:
    """Run (`runnable`: its Slack trigger runs by hand), Versions, Roll back, Test run (any
    trigger: `core.run_now` runs a test copy), Open in n8n."""
    value = str(workflow_id)
    elements = [run_button(workflow_id)] if runnable else []
    elements += [
        button("Versions", "workflow_versions", value),
        button("Roll back", "workflow_rollback", value),
        button("Test run", "workflow_test_run", value),
    ]
    if n8n_url:
        elements.append(button("Open in n8n", "workflow_open_n8n", value, url=n8n_url))
    return actions(*elements, block_id=f"workflow:{workflow_id}")


def summary_blocks(
    *,
    workflow_id: int,
    name: str,
    version: int,
    description: str | None,
    outline: Sequence[str],
    n8n_url: str | None,
    note: str | None = None,
    runnable: bool = False,
) -> list[Block]:
    """The finished run: what was deployed, what it does, its shape, and what can be done next."""
    blocks = [
        section(f":white_check_mark: *{escape(name)}* is active · version {version}"),
    ]
    if description:
        blocks.append(section(escape(description)))
    if outline:
        blocks.append(section("*Flow*\n```" + escape("\n".join(outline)) + "```"))
    if note:
        blocks.append(context(escape(note)))
    blocks.append(workflow_buttons(workflow_id=workflow_id, n8n_url=n8n_url, runnable=runnable))
    return blocks


def failure_blocks(*, request: str, error: str, needs_review: bool) -> list[Block]:
    blocks = [
        section(f"*Request:* {escape(request)}"),
        section(f":x: I could not build a working workflow: {escape(error)}"),
    ]
    if needs_review:
        blocks.append(context("The case is logged for manual review."))
    blocks.append(context("Reply in this thread to try again with more detail."))
    return blocks


def question_blocks(*, request: str, question: str) -> list[Block]:
    return [
        section(f"*Request:* {escape(request)}"),
        section(f":speech_balloon: {escape(question)}"),
        context("Reply in this thread to answer."),
    ]
