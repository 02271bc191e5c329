"""A workflow's Slack trigger as Clixen reads it: the `clixen.slackTrigger` node's parameters,
checked and bounded (every one of them comes from an LLM or a user), and whether a message
matches its text filters.

The parameters and their bounds are `core.kernel.slack_trigger`'s (`parse_trigger_params`);
on top, a `pattern` that could take long to match is refused (`check_pattern`: no nested
repetition, no two repetitions side by side) and at most MAX_MATCHED_TEXT characters of a
message are matched, so a match always ends quickly.
"""

from __future__ import annotations

import re
import re._parser as sre_parse  # the stdlib's own regex parser: to refuse nested repetition
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core.kernel.errors import InvalidInput
from core.kernel.slack_trigger import (
    SLACK_TRIGGER_TYPE,
    TriggerEvent,
    TriggerInput,
    parse_trigger_params,
)

MAX_MATCHED_TEXT = 4_000
# One input a workflow asks for before a run by hand (a modal field).
InputField = TriggerInput


@dataclass(frozen=True)
class TriggerSpec:
    """The trigger node of one workflow version, checked (`core.kernel.slack_trigger` reads the
    parameters; this adds the node's name and what matching and subscribing need)."""

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
        return tuple(e for e in self.events if e != TriggerEvent.manual)

    @property
    def runs_by_hand(self) -> bool:
        return TriggerEvent.manual in self.events

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


def parse_trigger(node: Mapping[str, Any]) -> TriggerSpec:
    """One trigger node's parameters, checked (InvalidInput says which and what to do)."""
    name = str(node.get("name") or "Slack trigger")[:120]
    try:
        params = parse_trigger_params(node.get("parameters") or {})
    except ValueError as e:
        raise InvalidInput(f'The Slack trigger "{name}": {e}') from e
    if params.pattern:
        check_pattern(params.pattern)
    return TriggerSpec(
        node_name=name,
        events=tuple(str(e) for e in params.events),
        channels=params.channels,
        emoji=params.emoji,
        contains=params.contains,
        pattern=params.pattern,
        include_bots=params.include_bots,
        include_thread_replies=params.include_thread_replies,
        accepts_message=params.accepts_message,
        inputs=params.inputs,
    )


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
