"""Block Kit and text for workflows that start from Slack (pure: data in, blocks out): the Run
button, the modal asking a workflow's inputs, the message shortcut's workflow picker,
`/clixen triggers`, App Home's triggers section, and the notices (gave up, rate limited,
subscription dropped, outbox full).

A modal carries what its submission needs in `private_metadata` (JSON, at most
METADATA_LIMIT characters: the shortcut's message text is clipped to MESSAGE_TEXT_LIMIT)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.blocks.common import Block, button, clip, context, escape, header, plain, section
from core.kernel.slack_trigger import TriggerEvent, TriggerParams, describe_trigger
from core.triggers import (
    DeliveryGaveUp,
    InputField,
    OutboxFull,
    RateLimited,
    SubscriptionDropped,
    TriggerListing,
    TriggerNotice,
    WorkflowChoice,
)

RUN_ACTION = "workflow_run"
RUN_INPUTS_CALLBACK = "workflow_run_inputs"
RUN_PICK_CALLBACK = "workflow_run_pick"
MESSAGE_SHORTCUT = "run_workflow_on_message"  # manifest.yml's callback_id
PICK_BLOCK = "workflow"
METADATA_LIMIT = 3000
MESSAGE_TEXT_LIMIT = 1500
MAX_PICKER_OPTIONS = 100  # Slack's limit for a static select
MAX_LISTED = 20
INPUT_PREFIX = "input_"


@dataclass(frozen=True)
class RunRequest:
    """What a run by hand needs once its modal is submitted (the modal's `private_metadata`)."""

    source: str  # command | shortcut | button
    workflow_id: int = 0
    text: str = ""
    channel_id: str = ""
    message: Mapping[str, str] = field(default_factory=dict)  # channel_id, ts, text, user_id…

    def metadata(self) -> str:
        data: dict[str, Any] = {"s": self.source, "w": self.workflow_id, "c": self.channel_id}
        text = self.text
        message = dict(self.message)
        if message:
            message["text"] = clip(message.get("text", ""), MESSAGE_TEXT_LIMIT)
            data["m"] = message
        data["t"] = text
        raw = json.dumps(data, separators=(",", ":"))
        while len(raw) > METADATA_LIMIT and data["t"]:
            data["t"] = data["t"][: len(data["t"]) // 2]  # the typed text gives way first
            raw = json.dumps(data, separators=(",", ":"))
        return raw[:METADATA_LIMIT]

    @classmethod
    def from_metadata(cls, raw: str) -> RunRequest:
        """Raises ValueError when the metadata is not ours."""
        data = json.loads(raw or "{}")
        if not isinstance(data, dict) or not isinstance(data.get("s"), str):
            raise ValueError("not a run's metadata")
        message = data.get("m") or {}
        message = message if isinstance(message, dict) else {}
        return cls(
            source=data["s"],
            workflow_id=int(data.get("w") or 0),
            text=str(data.get("t") or ""),
            channel_id=str(data.get("c") or ""),
            message={str(k): str(v) for k, v in message.items()},
        )


def run_button(workflow_id: int, *, label: str = "Run") -> Block:
    return button(f"▶ {label}", RUN_ACTION, str(workflow_id))


def _input_block(f: InputField, value: str = "") -> Block:
    element: Block = {
        "type": "plain_text_input",
        "action_id": "value",
        "multiline": f.multiline,
        "max_length": 3000,
    }
    if value:
        element["initial_value"] = clip(value, 3000)
    return {
        "type": "input",
        "block_id": INPUT_PREFIX + f.name,
        "optional": not f.required,
        "label": plain(f.label or f.name, 2000),
        "element": element,
    }


def inputs_modal(
    *, workflow_name: str, inputs: Sequence[InputField], request: RunRequest
) -> dict[str, Any]:
    """The modal asking a workflow's declared inputs before it runs (`workflow_name`: "" when
    the caller does not know it)."""
    what = f"*{escape(workflow_name)}*" if workflow_name else "the workflow"
    blocks: list[Block] = [context(f"Run {what} with:")]
    if request.message.get("text"):
        blocks.append(context("On the message: " + escape(clip(request.message["text"], 300))))
    blocks += [_input_block(f) for f in inputs]
    return {
        "type": "modal",
        "callback_id": RUN_INPUTS_CALLBACK,
        "private_metadata": request.metadata(),
        "title": plain("Run a workflow", 24),
        "submit": plain("Run", 24),
        "close": plain("Cancel", 24),
        "blocks": blocks,
    }


def submitted_inputs(view: Mapping[str, Any]) -> dict[str, str]:
    """The values typed in an inputs modal, by input name (empty ones left out)."""
    values = (view.get("state") or {}).get("values") or {}
    out: dict[str, str] = {}
    for block_id, fields in values.items():
        if not block_id.startswith(INPUT_PREFIX) or not isinstance(fields, dict):
            continue
        value = (fields.get("value") or {}).get("value")
        if isinstance(value, str) and value.strip():
            out[block_id[len(INPUT_PREFIX) :]] = value
    return out


def picker_modal(
    *, project_name: str, choices: Sequence[WorkflowChoice], request: RunRequest
) -> dict[str, Any]:
    """The message shortcut's modal: pick one of the project's workflows that accept a message
    (or, when none does, say how to make one)."""
    preview = escape(clip(request.message.get("text", ""), 300)) or "_(no text)_"
    if not choices:
        return {
            "type": "modal",
            "title": plain("Run a workflow", 24),
            "close": plain("Close", 24),
            "blocks": [
                section(
                    f"No workflow of *{escape(project_name)}* runs on a message yet. Ask me for "
                    "one, e.g. `/clixen when I run it on a message, create a Jira issue with its "
                    "text` — its Slack trigger offers it here once it is deployed."
                )
            ],
        }
    options = [
        {"text": plain(c.name), "value": str(c.workflow_id)} for c in choices[:MAX_PICKER_OPTIONS]
    ]
    return {
        "type": "modal",
        "callback_id": RUN_PICK_CALLBACK,
        "private_metadata": request.metadata(),
        "title": plain("Run a workflow", 24),
        "submit": plain("Run", 24),
        "close": plain("Cancel", 24),
        "blocks": [
            context(f"On the message: {preview}"),
            {
                "type": "input",
                "block_id": PICK_BLOCK,
                "label": plain(f"Workflow of {project_name}"),
                "element": {
                    "type": "static_select",
                    "action_id": "value",
                    "options": options,
                    **({"initial_option": options[0]} if len(options) == 1 else {}),
                },
            },
        ],
    }


def picked_workflow(view: Mapping[str, Any]) -> int | None:
    values = (view.get("state") or {}).get("values") or {}
    selected = ((values.get(PICK_BLOCK) or {}).get("value") or {}).get("selected_option") or {}
    value = selected.get("value")
    return int(value) if isinstance(value, str) and value.isdigit() else None


def run_started_text(workflow_name: str, *, on_message: bool = False) -> str:
    what = " on that message" if on_message else ""
    return f"▶️ *{escape(workflow_name)}* is running{what}. Its executions show in n8n."


def listing_words(t: TriggerListing) -> str:
    """A listing in words, e.g. `reaction :ticket: in #support`."""
    events = tuple(TriggerEvent(e) for e in t.events if e in TriggerEvent.__members__)
    channels = tuple(f"<#{c}>" for c in t.channels if c)
    params = TriggerParams(events=events, channels=(), emoji=t.emoji)
    words = describe_trigger(params)
    if channels:
        words = words.replace("anywhere Clixen is", "in " + ", ".join(channels))
    return words


def _listing_line(t: TriggerListing, *, why: bool = False) -> str:
    lost = f" · ⚠️ {t.lost_last_week} lost this week" if t.lost_last_week else ""
    if lost and why and t.last_lost_reason:
        lost += f" (last: {escape(clip(t.last_lost_reason, 120))})"
    return f"• *{escape(t.name)}* — {listing_words(t)} (made by <@{t.created_by}>){lost}"


def channel_triggers_blocks(channel_id: str, listings: Sequence[TriggerListing]) -> list[Block]:
    """`/clixen triggers` in a channel: which workflows listen there."""
    if not listings:
        return [
            section(
                f"No workflow listens in <#{channel_id}>. A workflow listens only where its "
                "creator is a member."
            )
        ]
    lines = [_listing_line(t) for t in listings[:MAX_LISTED]]
    more = len(listings) - MAX_LISTED
    blocks = [
        section(f"Workflows that listen in <#{channel_id}>:\n" + "\n".join(lines)),
    ]
    if more > 0:
        blocks.append(context(f"…and {more} more."))
    blocks.append(
        context("What a workflow hears here it may send elsewhere; its creator can stop it.")
    )
    return blocks


def home_triggers_blocks(
    listings: Sequence[TriggerListing], runnable: Sequence[tuple[int, str]]
) -> list[Block]:
    """App Home's section: the project's workflows that start from Slack (what they listen to,
    where, who made them, events lost this week), and a Run button on each that runs by hand
    (`runnable`: workflow id and name)."""
    if not listings and not runnable:
        return []
    names = dict(runnable)
    blocks: list[Block] = [header("Started from Slack")]
    for t in listings[:MAX_LISTED]:
        line = _listing_line(t, why=True) + (" or by hand" if t.workflow_id in names else "")
        accessory = run_button(t.workflow_id) if names.pop(t.workflow_id, None) else None
        blocks.append(section(line, accessory))
    for workflow_id, name in list(names.items())[:MAX_LISTED]:
        blocks.append(section(f"• *{escape(name)}* — by hand", run_button(workflow_id)))
    shown = min(len(listings), MAX_LISTED) + min(len(names), MAX_LISTED)
    if len(listings) + len(names) > shown:
        blocks.append(context(f"…and {len(listings) + len(names) - shown} more."))
    return blocks


def notice_text(notice: TriggerNotice) -> str:
    """What a trigger notice says in the workflow's thread (or to the operator)."""
    if isinstance(notice, DeliveryGaveUp):
        where = f" in <#{notice.channel_id}>" if notice.channel_id else ""
        return (
            f"⚠️ A {notice.event_kind.replace('_', ' ')}{where} never reached "
            f"*{escape(notice.workflow.name)}*: n8n did not take it after {notice.attempts} "
            f"tries ({escape(clip(notice.reason, 200))}). That event is lost; later ones "
            "still run. Check that the workflow is active in n8n."
        )
    if isinstance(notice, RateLimited):
        return (
            f"⏸️ *{escape(notice.workflow.name)}* got more than {notice.limit_per_minute} events "
            "this minute; the rest of this minute's were not run (a workflow that posts where "
            "it listens can loop). It resumes next minute."
        )
    if isinstance(notice, SubscriptionDropped):
        why = (
            "left the channel"
            if notice.reason == "left_channel"
            else "is no longer an editor of the project"
        )
        return (
            f"🔕 *{escape(notice.workflow.name)}* stopped listening in <#{notice.channel_id}>: "
            f"<@{notice.creator}>, who made it, {why}. An editor who is in the channel can "
            "deploy it again to listen there."
        )
    if isinstance(notice, OutboxFull):
        return (
            f"⚠️ {notice.pending} Slack events wait for n8n; new ones are not run until it "
            "catches up."
        )
    return "A Slack trigger notice."
