"""What Clixen says to a reply in a workflow's thread that is not a clear change request: a
short note for thanks, an answer for a question, and the "change it?" question with two buttons."""

from __future__ import annotations

import json
from dataclasses import dataclass

from bot.blocks.common import Block, actions, button, context, escape, section
from core.usecases.workflows import WorkflowFacts

BUTTON_VALUE_LIMIT = 2000  # Slack's limit on a button's value

CONFIRM_ACTION = "thread_edit_confirm"
CANCEL_ACTION = "thread_edit_cancel"

ASK_FOR_CHANGE = "Do you want me to change the workflow? Reply with what to change."


@dataclass(frozen=True)
class PendingEdit:
    """An unclear reply waiting for its author's "Yes, change it": carried in the button."""

    workflow_id: int
    user_id: str
    channel_id: str
    thread_ts: str
    reply_ts: str
    request: str


def acknowledgement_text(version: int | None = None) -> str:
    at = f" (v{version})" if version else ""
    return (
        f":ok_hand: Noted: the workflow stays as it is{at}. "
        "Reply in this thread with what to change whenever you want."
    )


def answer_text(facts: WorkflowFacts) -> str:
    return f"{escape(facts.name)} (#{facts.id}) is at version {facts.version}, {facts.status}."


def answer_blocks(facts: WorkflowFacts) -> list[Block]:
    """A question about the workflow, answered from its name, version, summary and shape."""
    last = "never run"
    if facts.last_execution_status:
        last = f"last run {escape(facts.last_execution_status)}"
        if facts.last_execution_at:
            last += f" {escape(facts.last_execution_at)}"
    blocks = [
        section(
            f"*{escape(facts.name)}* (#{facts.id}) · v{facts.version} · "
            f"{escape(facts.status)} · {last}"
        )
    ]
    if facts.description:
        blocks.append(section(escape(facts.description)))
    if facts.outline:
        blocks.append(section("*Flow*\n```" + escape("\n".join(facts.outline)) + "```"))
    blocks.append(context(ASK_FOR_CHANGE))
    return blocks


def pending_value(pending: PendingEdit) -> str | None:
    """The buttons' value, or None when the reply is too long to carry in one."""
    value = json.dumps(
        {
            "w": pending.workflow_id,
            "u": pending.user_id,
            "c": pending.channel_id,
            "t": pending.thread_ts,
            "r": pending.reply_ts,
            "x": pending.request,
        },
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return value if len(value) <= BUTTON_VALUE_LIMIT else None


def parse_pending_value(value: str) -> PendingEdit:
    """The pending edit a button carries (untrusted input: ValueError when malformed)."""
    data = json.loads(value)
    if not isinstance(data, dict):
        raise ValueError("not an object")
    fields = (data["u"], data["c"], data["t"], data["r"], data["x"])
    if type(data["w"]) is not int or not all(isinstance(f, str) and f for f in fields):
        raise ValueError("missing fields")
    return PendingEdit(data["w"], data["u"], data["c"], data["t"], data["r"], data["x"])


def confirm_edit_text(facts: WorkflowFacts) -> str:
    return f"Do you want me to change {escape(facts.name)}?"


def confirm_edit_blocks(facts: WorkflowFacts, request: str, value: str | None) -> list[Block]:
    """The question for an unclear reply; with `value`, answered by Yes / No buttons."""
    blocks = [
        section(
            f"Do you want me to change *{escape(facts.name)}* (v{facts.version}) with this?\n"
            + "\n".join(f"> {escape(line)}" for line in request.splitlines() or [""])
        )
    ]
    if value is None:
        blocks.append(context("To change it, reply with what to change, e.g. `add …`."))
        return blocks
    blocks.append(
        actions(
            button("Yes, change it", CONFIRM_ACTION, value, style="primary"),
            button("No", CANCEL_ACTION, value),
            block_id=f"thread_edit:{facts.id}",
        )
    )
    blocks.append(context("Nothing changes until you say yes."))
    return blocks


def edit_confirmed_blocks(request: str) -> list[Block]:
    return [section(f":gear: Changing the workflow: {escape(request)}")]


def edit_declined_blocks() -> list[Block]:
    return [section("OK, the workflow stays as it is.")]
