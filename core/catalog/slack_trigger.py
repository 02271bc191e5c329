"""Clixen's Slack trigger node as the catalog and the model see it: its `NodeSpec` (the catalog
holds it beside n8n's types, so search, validation and `clixen spec` know it) and what the model
is told (`model_spec`). What the node means (parameters, payload, words) is
`core.kernel.slack_trigger`."""

from __future__ import annotations

from typing import Any

from core.catalog.node_spec import NodeSpec, ParamSpec, VersionClass
from core.kernel.slack_trigger import (
    DISPLAY_NAME,
    N8N_SLACK_TRIGGER,
    PAYLOAD_FIELDS,
    SLACK_TRIGGER_TYPE,
    TRIGGER_EVENTS,
)


def slack_trigger_spec() -> NodeSpec:
    """The catalog entry of the node (validation: version, inputs/outputs, no credentials)."""
    params = (
        ParamSpec("events", "multiOptions", [], False, None),
        ParamSpec("channels", "json", [], False, None),
        ParamSpec("emoji", "json", [], False, None),
        ParamSpec("contains", "string", "", False, None),
        ParamSpec("pattern", "string", "", False, None),
        ParamSpec("include_bots", "boolean", False, False, None),
        ParamSpec("include_thread_replies", "boolean", False, False, None),
        ParamSpec("accepts_message", "boolean", False, False, None),
        ParamSpec("inputs", "json", [], False, None),
    )
    return NodeSpec(
        type=SLACK_TRIGGER_TYPE,
        display_name=DISPLAY_NAME,
        description=(
            "Starts the workflow from Slack through Clixen's app: a message posted in a "
            "channel, an emoji reaction added, a member joining a channel, or by hand "
            "(/clixen run, the message shortcut, a Run button, with inputs asked in a modal)."
        ),
        group=("trigger",),
        classes=(VersionClass((1.0,), ("main",), 0, params, (), ()),),
        default_version=1.0,
        aliases=(
            "slack",
            "slack trigger",
            "reaction",
            "emoji",
            "react",
            "message posted",
            "joins channel",
            "member joined",
            "shortcut",
            "slash command",
            "run now",
            "by hand",
            "on demand",
        ),
        categories=("Communication",),
    )


MODEL_HINTS = (
    f"The only way a workflow starts from Slack here. NEVER use {N8N_SLACK_TRIGGER}: its events "
    "go to one request URL per Slack app, and this app's URL is Clixen's, so it never fires.",
    "Parameters are plain values read by Clixen (no expressions). A `message` trigger must name "
    "its channels; `emoji` goes with reaction_added; `contains`/`pattern` with message.",
    "For 'run X now' or 'on demand' use events [\"manual\"]; declare `inputs` to have the user "
    "asked for values in a modal; accepts_message: true offers it on a message's shortcut menu.",
    "Downstream nodes read the payload as $json.<field> (e.g. $json.text, $json.permalink, "
    "$json.channel_id, $json.user_id, $json.inputs.<name>, $json.message.text). To reply in "
    "the thread, a Slack node posts to channel {{ $json.channel_id }} with thread_ts "
    "{{ $json.ts }}.",
)


def model_spec() -> dict[str, Any]:
    """What the model is told of the node (`get_node_spec`, generation prompts, `clixen spec`)."""
    return {
        "type": SLACK_TRIGGER_TYPE,
        "typeVersion": 1,
        "trigger": True,
        "name": DISPLAY_NAME,
        "parameters": {
            "events": {
                "type": "multiOptions",
                "required": True,
                "options": list(TRIGGER_EVENTS),
            },
            "channels": {
                "type": "string[]",
                "hint": "channel names like #support or ids C…; empty: anywhere Clixen is "
                "(not for message)",
            },
            "emoji": {"type": "string[]", "hint": "emoji names without colons, e.g. ticket"},
            "contains": {"type": "string", "hint": "text a message must contain (any case)"},
            "pattern": {"type": "string", "hint": "a regular expression a message must match"},
            "include_bots": {"type": "boolean", "default": False},
            "include_thread_replies": {"type": "boolean", "default": False},
            "accepts_message": {"type": "boolean", "default": False},
            "inputs": {
                "type": "array",
                "value": [{"name": "ticket", "label": "Ticket id", "required": True}],
                "hint": "asked in a modal before a run by hand; read as $json.inputs.<name>",
            },
        },
        "hints": [
            *MODEL_HINTS,
            'Example: {"events": ["reaction_added"], "channels": ["#support"], "emoji": '
            '["ticket"]}; {"events": ["message"], "channels": ["#support"], "contains": '
            '"urgent"}; {"events": ["manual"], "accepts_message": true}.',
        ],
        "output_fields": list(PAYLOAD_FIELDS),
    }
