"""Node types that Clixen itself provides, beside n8n's own: `clixen.slackTrigger`, a workflow
that starts from something that happens in Slack, delivered by Clixen (Slack sends its events to
Clixen's one request URL; n8n's own Slack Trigger can never fire behind it).

The stored workflow keeps this node; it never reaches n8n as is: the deploy gate compiles it into
an n8n Webhook trigger only Clixen can call (`core.triggers.compile`). Its parameters are read
and bounded by `core.triggers.spec`; what it outputs is `core.triggers.PAYLOAD_FIELDS`.
"""

from __future__ import annotations

from collections.abc import Mapping

from core.catalog.node_spec import NodeSpec, ParamSpec, VersionClass

SLACK_TRIGGER_TYPE = "clixen.slackTrigger"
CLIXEN_PREFIX = "clixen."
# The kinds of event the trigger listens to (`events`).
TRIGGER_EVENTS = ("message", "reaction_added", "member_joined_channel", "manual")


def _param(name: str, type_: str, default: object, *, required: bool = False) -> ParamSpec:
    return ParamSpec(name, type_, default, required, None)


SLACK_TRIGGER = NodeSpec(
    type=SLACK_TRIGGER_TYPE,
    display_name="Slack Trigger (through Clixen)",
    description=(
        "Starts the workflow when something happens in Slack: a message posted in a channel, "
        "a reaction added, a member joining a channel, or by hand (/clixen run, the message "
        "shortcut, the Run button). Clixen receives the event and calls the workflow."
    ),
    group=("trigger",),
    classes=(
        VersionClass(
            versions=(1.0,),
            outputs=("main",),
            output_names=1,
            params=(
                ParamSpec("events", "multiOptions", [], True, None, multiple=True),
                _param("channels", "json", []),
                _param("emoji", "json", []),
                _param("contains", "string", ""),
                _param("pattern", "string", ""),
                _param("include_bots", "boolean", False),
                _param("include_thread_replies", "boolean", False),
                _param("accepts_message", "boolean", False),
                _param("inputs", "json", []),
            ),
            credentials=(),
            inputs=(),
        ),
    ),
    default_version=1.0,
    aliases=("slack", "slack event", "reaction", "emoji", "channel message", "shortcut"),
    categories=("Communication",),
    webhook=True,
)

CLIXEN_NODES: Mapping[str, NodeSpec] = {SLACK_TRIGGER_TYPE: SLACK_TRIGGER}
