"""Clixen's own Slack trigger node (`clixen.slackTrigger`): what it is, its parameters, the payload
it hands a workflow, and its description in words.

n8n's Slack Trigger (`n8n-nodes-base.slackTrigger`) can never fire with Clixen's app: a Slack app
sends every event to one request URL, and that URL is Clixen's. So a workflow that starts from
Slack carries this node instead; Clixen receives the event, matches it against the active
versions' triggers and calls the workflow (`core.triggers` compiles the node into an n8n Webhook
with a per-workflow secret at deploy time — this node never reaches n8n as is).

The definition lives here, on the ground floor, because the catalog (`core.catalog.slack_trigger`:
search, specs for the model, `clixen spec`), the validator (parameters, `$json.X` field checks),
the picture (`describe_trigger`) and `core.triggers` (matching, the payload) all need it.

Parameters (all optional except `events`): `events` (message | reaction_added |
member_joined_channel | manual), `channels` (ids `C…`/`G…` or names `#support`; empty means
anywhere Clixen is, not allowed for `message`), `emoji` (names without colons, for
`reaction_added`), `contains` / `pattern` (for `message`), `include_bots`,
`include_thread_replies`, `accepts_message` (offered by the "Run a workflow on this message"
shortcut), `inputs` (`[{name, label, required, multiline}]`, asked in a modal before a manual run).
Values are read by Clixen, not by n8n: expressions (`={{ … }}`) are refused.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

CLIXEN_PREFIX = "clixen."
SLACK_TRIGGER_TYPE = CLIXEN_PREFIX + "slackTrigger"
N8N_SLACK_TRIGGER = "n8n-nodes-base.slackTrigger"
DISPLAY_NAME = "Slack trigger (through Clixen)"

MAX_CHANNELS = 20
MAX_EMOJI = 20
MAX_INPUTS = 10
MAX_TEXT_CHARS = 200  # `contains`, an input's label
MAX_PATTERN_CHARS = 200


class TriggerEvent(StrEnum):
    """What can start a workflow from Slack."""

    message = "message"
    reaction_added = "reaction_added"
    member_joined_channel = "member_joined_channel"
    manual = "manual"  # /clixen run, the message shortcut, the Run button


TRIGGER_EVENTS = tuple(e.value for e in TriggerEvent)

# The one payload shape a workflow receives: the trigger's output fields (`$json.<field>`).
PAYLOAD_FIELDS: dict[str, str] = {
    "kind": "what started it: message | reaction_added | member_joined_channel | command | "
    "shortcut | button | test",
    "team_id": "the Slack workspace id",
    "channel_id": "the channel id (C…/G…)",
    "channel_name": "the channel name without #",
    "user_id": "who posted, reacted, joined or ran it",
    "user_name": "that person's display name",
    "text": "the message text (a reaction: the reacted-to message's text; /clixen run: the text "
    "after the workflow name)",
    "ts": "the message's timestamp (its id in the channel)",
    "thread_ts": "the thread's parent timestamp, empty for a top-level message",
    "permalink": "a link to the message",
    "reaction": "the emoji name without colons (reaction_added)",
    "message": "the reacted-to or shortcut's message: {text, ts, user_id, permalink}",
    "inputs": "the modal's answers: {input name: value}",
    "event_id": "Slack's event id (unique per event)",
    "workflow_id": "the Clixen workflow id",
}
PAYLOAD_SHAPE: dict[str, Any] = {
    **{name: "string" for name in PAYLOAD_FIELDS},
    "message": {"text": "string", "ts": "string", "user_id": "string", "permalink": "string"},
    "inputs": "object",
}

_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,20}$")
_CHANNEL_NAME = re.compile(r"^#?[a-z0-9][a-z0-9_.-]{0,79}$")
_EMOJI = re.compile(r"^[a-z0-9_+'-]{1,100}$")
_INPUT_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,39}$")
_BOOLS = ("include_bots", "include_thread_replies", "accepts_message")
KNOWN_PARAMETERS = frozenset(
    {"events", "channels", "emoji", "contains", "pattern", "inputs", *_BOOLS}
)


@dataclass(frozen=True, slots=True)
class TriggerInput:
    """One input asked in a modal before a manual run."""

    name: str
    label: str
    required: bool = False
    multiline: bool = False


@dataclass(frozen=True, slots=True)
class TriggerParams:
    """A Slack trigger node's parameters, checked (see `parse_trigger_params`)."""

    events: tuple[TriggerEvent, ...]
    channels: tuple[str, ...] = ()  # ids as given, names without "#"
    emoji: tuple[str, ...] = ()
    contains: str = ""
    pattern: str = ""
    include_bots: bool = False
    include_thread_replies: bool = False
    accepts_message: bool = False
    inputs: tuple[TriggerInput, ...] = ()

    @property
    def manual(self) -> bool:
        return TriggerEvent.manual in self.events


def _text_list(value: object, what: str, limit: int) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        items: list[object] = [v for v in re.split(r"[,\s]+", value) if v]
    elif isinstance(value, list):
        items = list(value)
    else:
        raise ValueError(f"`{what}` must be a list of strings.")
    if len(items) > limit:
        raise ValueError(f"`{what}` lists {len(items)} entries; at most {limit}.")
    out = []
    for item in items:
        if not isinstance(item, str) or not item.strip():
            raise ValueError(f"`{what}` must be a list of non-empty strings.")
        if item.startswith("="):
            raise ValueError(
                f"`{what}` holds an expression ({item[:40]!r}); Clixen reads the trigger's "
                "parameters itself: write plain values."
            )
        out.append(item.strip())
    return out


def _channel(value: str) -> str:
    if value.upper().startswith("D") and _CHANNEL_ID.match("C" + value[1:].upper()):
        raise ValueError(
            f"`channels` names a direct message ({value}); a workflow never listens in "
            "direct messages."
        )
    if _CHANNEL_ID.match(value):
        return value
    if _CHANNEL_NAME.match(value.lower()):
        return value.lower().removeprefix("#")
    raise ValueError(
        f"`channels` entry {value[:40]!r} is neither a channel id (C…) nor a name like #support."
    )


def _inputs(value: object) -> tuple[TriggerInput, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ValueError("`inputs` must be a list of {name, label, required, multiline}.")
    if len(value) > MAX_INPUTS:
        raise ValueError(f"`inputs` declares {len(value)} inputs; at most {MAX_INPUTS}.")
    out: list[TriggerInput] = []
    for raw in value:
        if not isinstance(raw, Mapping) or not isinstance(raw.get("name"), str):
            raise ValueError("each of `inputs` must be an object with a `name`.")
        name = raw["name"]
        if not _INPUT_NAME.match(name):
            raise ValueError(
                f"input name {name[:40]!r} must be a short identifier (letters, digits, _)."
            )
        if any(i.name == name for i in out):
            raise ValueError(f"two inputs are named {name!r}.")
        label = raw.get("label")
        label = label.strip() if isinstance(label, str) and label.strip() else name
        out.append(
            TriggerInput(
                name=name,
                label=label[:MAX_TEXT_CHARS],
                required=raw.get("required") is True,
                multiline=raw.get("multiline") is True,
            )
        )
    return tuple(out)


def parse_trigger_params(parameters: object) -> TriggerParams:
    """The checked parameters of a `clixen.slackTrigger` node; raises ValueError with a sentence
    a user (or the repair prompt) can act on."""
    if not isinstance(parameters, Mapping):
        raise ValueError("the Slack trigger's `parameters` must be an object.")
    unknown = sorted(set(parameters) - KNOWN_PARAMETERS)
    if unknown:
        raise ValueError(
            f"unknown parameter(s) {', '.join(unknown)}; the Slack trigger takes "
            + ", ".join(sorted(KNOWN_PARAMETERS))
            + "."
        )
    events = _events(parameters)
    channels = _channels(parameters, events)
    emoji = _emoji(parameters, events)
    contains, pattern = _text_filters(parameters, events)
    flags = {}
    for key in _BOOLS:
        value = parameters.get(key, False)
        if not isinstance(value, bool):
            raise ValueError(f"`{key}` must be true or false.")
        flags[key] = value
    inputs = _inputs(parameters.get("inputs"))
    if (inputs or flags["accepts_message"]) and TriggerEvent.manual not in events:
        raise ValueError(
            "`inputs` and `accepts_message` apply to runs by hand: add manual to `events`."
        )
    return TriggerParams(
        events=events,
        channels=channels,
        emoji=emoji,
        contains=contains,
        pattern=pattern,
        inputs=inputs,
        **flags,
    )


def _events(parameters: Mapping[str, Any]) -> tuple[TriggerEvent, ...]:
    """What starts the workflow, each once: at least one, every one known."""
    names = _text_list(parameters.get("events"), "events", len(TRIGGER_EVENTS))
    if not names:
        raise ValueError(
            "`events` is empty: say what starts the workflow (" + " | ".join(TRIGGER_EVENTS) + ")."
        )
    bad = [n for n in names if n not in TRIGGER_EVENTS]
    if bad:
        raise ValueError(
            f"unknown event {bad[0][:40]!r}; the Slack trigger starts on "
            + " | ".join(TRIGGER_EVENTS)
            + "."
        )
    return tuple(dict.fromkeys(TriggerEvent(n) for n in names))


def _channels(parameters: Mapping[str, Any], events: tuple[TriggerEvent, ...]) -> tuple[str, ...]:
    """The channels listened in (ids, or names without #), each once; a message trigger must
    name some."""
    channels = tuple(
        dict.fromkeys(
            _channel(c) for c in _text_list(parameters.get("channels"), "channels", MAX_CHANNELS)
        )
    )
    if TriggerEvent.message in events and not channels:
        raise ValueError(
            'a `message` trigger must name its channels (e.g. channels: ["#support"]): '
            "it never listens everywhere."
        )
    return channels


def _emoji(parameters: Mapping[str, Any], events: tuple[TriggerEvent, ...]) -> tuple[str, ...]:
    """The reactions listened for, as emoji names without colons, each once."""
    emoji = tuple(
        dict.fromkeys(
            e.strip(":").lower() for e in _text_list(parameters.get("emoji"), "emoji", MAX_EMOJI)
        )
    )
    for e in emoji:
        if not _EMOJI.match(e):
            raise ValueError(f"emoji {e[:40]!r} is not an emoji name (like ticket, or +1).")
    if emoji and TriggerEvent.reaction_added not in events:
        raise ValueError("`emoji` applies to the reaction_added event: add it to `events`.")
    return emoji


def _text_filters(
    parameters: Mapping[str, Any], events: tuple[TriggerEvent, ...]
) -> tuple[str, str]:
    """(`contains`, `pattern`): plain texts within their limits, for message events only, the
    pattern a valid regular expression."""
    contains = parameters.get("contains") or ""
    pattern = parameters.get("pattern") or ""
    for key, text, limit in (
        ("contains", contains, MAX_TEXT_CHARS),
        ("pattern", pattern, MAX_PATTERN_CHARS),
    ):
        if not isinstance(text, str):
            raise ValueError(f"`{key}` must be text.")
        if len(text) > limit:
            raise ValueError(f"`{key}` is {len(text)} characters long; at most {limit}.")
        if text.startswith("="):
            raise ValueError(f"`{key}` holds an expression; write plain text.")
        if text and TriggerEvent.message not in events:
            raise ValueError(f"`{key}` applies to the message event: add it to `events`.")
    if pattern:
        try:
            re.compile(pattern)
        except re.error as e:
            raise ValueError(f"`pattern` is not a valid regular expression: {e}.") from e
    return contains, pattern


def _where(params: TriggerParams) -> str:
    if not params.channels:
        return "anywhere Clixen is"
    return "in " + ", ".join(c if _CHANNEL_ID.match(c) else "#" + c for c in params.channels)


def describe_trigger(params: TriggerParams) -> str:
    """The trigger in words, e.g. `reaction <emoji code> in #support`, `message containing
    "urgent" in #support or by hand` (the picture and its outline; the emoji is named by its
    code, as a word, never drawn by core)."""
    parts = []
    where = _where(params)
    for event in params.events:
        if event is TriggerEvent.reaction_added:
            emoji = " or ".join(f":{e}:" for e in params.emoji) or "any"
            parts.append(f"reaction {emoji} {where}")
        elif event is TriggerEvent.message:
            what = "message"
            if params.contains:
                what += f' containing "{params.contains}"'
            if params.pattern:
                what += " matching /" + params.pattern + "/"
            parts.append(f"{what} {where}")
        elif event is TriggerEvent.member_joined_channel:
            parts.append(f"member joins {'a channel ' if not params.channels else ''}{where}")
        else:
            parts.append("by hand" + (" (also on a message)" if params.accepts_message else ""))
    return " or ".join(parts)


def describe_node(parameters: object) -> str:
    """`describe_trigger` of a node's raw parameters; "" when they do not parse."""
    try:
        return describe_trigger(parse_trigger_params(parameters))
    except ValueError:
        return ""


def trigger_node(workflow: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The workflow JSON's (first, enabled) Slack trigger node, as stored; None when none."""
    for node in workflow.get("nodes") or []:
        if (
            isinstance(node, Mapping)
            and node.get("type") == SLACK_TRIGGER_TYPE
            and not node.get("disabled")
        ):
            return node
    return None


def runs_by_hand(workflow: Mapping[str, Any]) -> bool:
    """Whether the workflow's Slack trigger has `manual` among its events (a Run button)."""
    node = trigger_node(workflow)
    events = (node.get("parameters") or {}).get("events") if node is not None else None
    return isinstance(events, list) and "manual" in events


def listens_in(workflow: Mapping[str, Any]) -> tuple[str, ...]:
    """The channels the workflow's Slack trigger names (ids or #names, as written): Slack sends
    a channel's events only where Clixen is, so the bot joins them after a deploy."""
    node = trigger_node(workflow)
    channels = (node.get("parameters") or {}).get("channels") if node is not None else None
    if not isinstance(channels, list):
        return ()
    return tuple(c for c in channels if isinstance(c, str) and c.strip())[:MAX_CHANNELS]
