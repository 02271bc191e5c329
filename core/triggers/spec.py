"""A workflow's Slack trigger as Clixen reads it: the `clixen.slackTrigger` node's parameters,
checked and bounded (every one of them comes from an LLM or a user), and whether a message
matches its text filters.

Parameters (all optional except `events`): `events` (message | reaction_added |
member_joined_channel | manual), `channels` (ids `C…` or names `#support`; empty = anywhere
Clixen is, not allowed for `message`), `emoji` (names without colons), `contains` (text, case
insensitive), `pattern` (a regex: bounded length, no nested repetition, matched against at most
MAX_MATCHED_TEXT characters, so a match always ends quickly), `include_bots`,
`include_thread_replies`, `accepts_message` (offered by the message shortcut), `inputs`
(`{name, label, required, multiline}`, asked in a modal before a run by hand).
"""

from __future__ import annotations

import re
import re._parser as sre_parse  # the stdlib's own regex parser: to refuse nested repetition
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from core.catalog.clixen_nodes import SLACK_TRIGGER_TYPE, TRIGGER_EVENTS
from core.kernel.errors import InvalidInput

MAX_CHANNELS = 20
MAX_EMOJI = 20
MAX_CONTAINS = 200
MAX_PATTERN = 200
MAX_INPUTS = 10
MAX_MATCHED_TEXT = 4_000
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,20}$")
_CHANNEL_NAME = re.compile(r"^#?[a-z0-9][a-z0-9._\-]{0,79}$")
_EMOJI = re.compile(r"^:?[a-z0-9_+\-']{1,100}:?$")
_INPUT_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,39}$")


@dataclass(frozen=True)
class InputField:
    """One input a workflow asks for before a run by hand (a modal field)."""

    name: str
    label: str
    required: bool = False
    multiline: bool = False


@dataclass(frozen=True)
class TriggerSpec:
    """The trigger node of one workflow version, checked."""

    node_name: str
    events: tuple[str, ...]
    channels: tuple[str, ...] = ()
    emoji: tuple[str, ...] = ()
    contains: str = ""
    pattern: str = ""
    include_bots: bool = False
    include_thread_replies: bool = False
    accepts_message: bool = False
    inputs: tuple[InputField, ...] = ()

    @property
    def listens(self) -> tuple[str, ...]:
        """The Slack events it listens to (everything but `manual`)."""
        return tuple(e for e in self.events if e != "manual")

    @property
    def runs_by_hand(self) -> bool:
        return "manual" in self.events or self.accepts_message

    def filters(self) -> dict[str, Any]:
        """What a subscription keeps to match events (stored as JSON)."""
        return {
            "emoji": list(self.emoji),
            "contains": self.contains,
            "pattern": self.pattern,
            "include_bots": self.include_bots,
            "include_thread_replies": self.include_thread_replies,
        }


def trigger_nodes(workflow: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The workflow's `clixen.slackTrigger` nodes (disabled ones left out)."""
    nodes = workflow.get("nodes") or []
    return [
        n
        for n in nodes
        if isinstance(n, Mapping) and n.get("type") == SLACK_TRIGGER_TYPE and not n.get("disabled")
    ]


def trigger_of(workflow: Mapping[str, Any]) -> TriggerSpec | None:
    """The workflow's Slack trigger, checked, or None when it has none. InvalidInput (saying
    what to change) for a bad parameter or more than one such trigger."""
    nodes = trigger_nodes(workflow)
    if not nodes:
        return None
    if len(nodes) > 1:
        raise InvalidInput(
            "A workflow can have one Slack trigger; put every event it listens to in that one "
            f"node's `events` (found {len(nodes)})."
        )
    return parse_trigger(nodes[0])


def _strings(value: Any, what: str, limit: int) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        value = [v for v in re.split(r"[,\s]+", value) if v]
    if not isinstance(value, Sequence) or not all(isinstance(v, str) for v in value):
        raise InvalidInput(f"The Slack trigger's `{what}` must be a list of texts.")
    if len(value) > limit:
        raise InvalidInput(f"The Slack trigger's `{what}` can list at most {limit}.")
    return [v.strip() for v in value if v.strip()]


def parse_trigger(node: Mapping[str, Any]) -> TriggerSpec:
    """One trigger node's parameters, checked (InvalidInput says which and what to do)."""
    name = str(node.get("name") or "Slack trigger")[:120]
    params = node.get("parameters") or {}
    if not isinstance(params, Mapping):
        raise InvalidInput(f'The parameters of "{name}" must be an object.')
    events = _strings(params.get("events"), "events", len(TRIGGER_EVENTS))
    unknown = [e for e in events if e not in TRIGGER_EVENTS]
    if not events or unknown:
        raise InvalidInput(
            f'"{name}" needs `events` from: {", ".join(TRIGGER_EVENTS)}'
            + (f" (unknown: {', '.join(u[:40] for u in unknown)})." if unknown else ".")
        )
    channels = _strings(params.get("channels"), "channels", MAX_CHANNELS)
    for c in channels:
        if not (_CHANNEL_ID.match(c) or _CHANNEL_NAME.match(c.lower())):
            raise InvalidInput(
                f'"{name}": {c[:80]!r} is not a channel; write a channel id (C0123…) or a name '
                "such as #support."
            )
    if "message" in events and not channels:
        raise InvalidInput(
            f'"{name}" listens to messages: name the channels in `channels` (a message listener '
            "never listens everywhere)."
        )
    emoji = [e.strip(":").lower() for e in _strings(params.get("emoji"), "emoji", MAX_EMOJI)]
    if any(not _EMOJI.match(e) for e in emoji):
        raise InvalidInput(f'"{name}": write `emoji` as names without colons, e.g. ["ticket"].')
    contains = _text(params.get("contains"), "contains", MAX_CONTAINS, name)
    pattern = _text(params.get("pattern"), "pattern", MAX_PATTERN, name)
    if pattern:
        check_pattern(pattern)
    return TriggerSpec(
        node_name=name,
        events=tuple(dict.fromkeys(events)),
        channels=tuple(dict.fromkeys(channels)),
        emoji=tuple(dict.fromkeys(emoji)),
        contains=contains,
        pattern=pattern,
        include_bots=params.get("include_bots") is True,
        include_thread_replies=params.get("include_thread_replies") is True,
        accepts_message=params.get("accepts_message") is True,
        inputs=_inputs(params.get("inputs"), name),
    )


def _text(value: Any, what: str, limit: int, name: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > limit:
        raise InvalidInput(f'"{name}": `{what}` must be a text of at most {limit} characters.')
    return value.strip()


def _inputs(value: Any, name: str) -> tuple[InputField, ...]:
    if not value:
        return ()
    if not isinstance(value, Sequence) or isinstance(value, str) or len(value) > MAX_INPUTS:
        raise InvalidInput(f'"{name}": `inputs` must be a list of at most {MAX_INPUTS} fields.')
    out: list[InputField] = []
    for item in value:
        if not isinstance(item, Mapping) or not _INPUT_NAME.match(str(item.get("name") or "")):
            raise InvalidInput(
                f'"{name}": each input needs a `name` of letters, digits and _ (e.g. "summary").'
            )
        label = str(item.get("label") or item["name"])[:48]
        out.append(
            InputField(
                name=str(item["name"]),
                label=label,
                required=item.get("required") is True,
                multiline=item.get("multiline") is True,
            )
        )
    if len({f.name for f in out}) < len(out):
        raise InvalidInput(f'"{name}": two inputs have the same name.')
    return tuple(out)


def check_pattern(pattern: str) -> re.Pattern[str]:
    """`pattern` compiled (case-insensitive); InvalidInput when it does not compile, repeats a
    repetition (`(a+)+`, `(a|aa)*`) or puts two repetitions side by side (`a*a*b`): the shapes
    whose matching can take seconds or forever (a literal between them, `.*urgent.*p1`, is fine)."""
    try:
        compiled = re.compile(pattern, re.IGNORECASE)
        parsed = sre_parse.parse(pattern, re.IGNORECASE)
    except (re.error, RecursionError, OverflowError) as e:
        raise InvalidInput(f"The Slack trigger's pattern does not compile: {e}.") from e
    if _nested_repeat(list(parsed), inside=False):
        raise InvalidInput(
            "The Slack trigger's pattern repeats a repetition (like `(a+)+`) or puts two side by "
            "side (like `a*a*`), which can take forever on some messages; put a literal between "
            "them, simplify it, or use `contains`."
        )
    return compiled


_REPEATS = {sre_parse.MAX_REPEAT, sre_parse.MIN_REPEAT, sre_parse.POSSESSIVE_REPEAT}


def _nested_repeat(items: list[Any], *, inside: bool) -> bool:
    previous_repeats = False
    for op, arg in items:
        repeats = op in _REPEATS and arg[1] != arg[0]  # a fixed count (`a{3}`) is no choice
        if repeats and previous_repeats:
            return True  # `a*a*b`: two choices side by side multiply the paths too
        previous_repeats = repeats
        if op in _REPEATS:
            sub = arg[2]
            if repeats and inside:
                return True
            if _nested_repeat(list(sub), inside=inside or repeats):
                return True
        elif op is sre_parse.SUBPATTERN:
            if _nested_repeat(list(arg[-1]), inside=inside):
                return True
        elif op is sre_parse.BRANCH:
            branches = arg[1]
            if inside and len(branches) > 1:
                return True
            if any(_nested_repeat(list(b), inside=inside) for b in branches):
                return True
        elif op in (sre_parse.ASSERT, sre_parse.ASSERT_NOT) and _nested_repeat(
            list(arg[1]), inside=inside
        ):
            return True
    return False


def text_matches(filters: Mapping[str, Any], text: str) -> bool:
    """Whether a message's text passes `contains` and `pattern` (both when both are set)."""
    text = text[:MAX_MATCHED_TEXT]
    contains = str(filters.get("contains") or "")
    if contains and contains.casefold() not in text.casefold():
        return False
    pattern = str(filters.get("pattern") or "")
    return not pattern or check_pattern(pattern).search(text) is not None
