"""Slack triggers in a workflow: the check (Clixen's `clixen.slackTrigger` parameters hold; n8n's
Slack Trigger is refused, since it can never fire with Clixen's app) and the fix that needs no
LLM (n8n's Slack Trigger turned into Clixen's, its events, channel and emoji carried over).

Pure functions over the workflow's nodes, registered in one line each (the validator,
`core.generation.replies.apply_deterministic_fixes`). The node's definition is
`core.kernel.slack_trigger`; its parameters are checked by `core.triggers.spec`, exactly as the
deploy and the delivery check them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from core.kernel.errors import InvalidInput
from core.kernel.slack_trigger import N8N_SLACK_TRIGGER, SLACK_TRIGGER_TYPE, TriggerEvent
from core.validation.report import Issue

N8N_TRIGGER_REFUSED = "slack_trigger_never_fires"
INVALID_TRIGGER = "invalid_slack_trigger"
ONE_SLACK_TRIGGER = "several_slack_triggers"

REFUSAL = (
    "uses n8n's Slack Trigger, which never fires here: a Slack app sends its events to one "
    "request URL, and this workspace's app sends them to Clixen, not to n8n."
)
REFUSAL_HINT = (
    f'Use Clixen\'s Slack trigger instead: type "{SLACK_TRIGGER_TYPE}", typeVersion 1, '
    'parameters like {"events": ["reaction_added"], "channels": ["#support"], "emoji": '
    '["ticket"]} (events: message, reaction_added, member_joined_channel, manual). '
    "Clixen receives the event and starts the workflow."
)

# n8n's Slack Trigger events → Clixen's (app_mention is a message naming the bot; team_join is
# the nearest to a member joining; any_event listens to messages).
_EVENTS = {
    "message": TriggerEvent.message,
    "app_mention": TriggerEvent.message,
    "any_event": TriggerEvent.message,
    "reaction_added": TriggerEvent.reaction_added,
    "team_join": TriggerEvent.member_joined_channel,
}
_URL_CHANNEL = re.compile(r"/([CG][A-Z0-9]{2,})/?$")


def _parse_trigger(node: Mapping[str, Any]) -> None:
    # Imported here: `core.triggers` brings the database and HTTP layers, which `clixen validate`
    # never needs (tests/cli/test_startup.py); only a workflow with Clixen's trigger loads it.
    from core.triggers.spec import parse_trigger

    parse_trigger(node)


def slack_trigger_issues(
    nodes: Mapping[str, Mapping[str, Any]], *, in_project: bool
) -> list[Issue]:
    """Issues of the workflow's Slack triggers: n8n's refused (an error in a project, where
    Clixen's app is the one Slack app; a warning for a bare file check), Clixen's checked."""
    issues: list[Issue] = []
    ours = []
    for name, node in nodes.items():
        if node.get("disabled") is True:
            continue
        ntype = node.get("type")
        if ntype == N8N_SLACK_TRIGGER:
            issues.append(
                Issue(
                    N8N_TRIGGER_REFUSED,
                    f'Node "{name}" {REFUSAL}',
                    name,
                    "error" if in_project else "warning",
                    REFUSAL_HINT,
                )
            )
        elif ntype == SLACK_TRIGGER_TYPE:
            ours.append(name)
            try:  # the checks the deploy and the delivery apply (core.triggers.spec)
                _parse_trigger(node)
            except InvalidInput as e:
                issues.append(
                    Issue(
                        INVALID_TRIGGER,
                        str(e),
                        name,
                        "error",
                        f'Fix the parameters of "{name}" (events: message, reaction_added, '
                        "member_joined_channel, manual; channels like #support; emoji names "
                        "without colons).",
                    )
                )
    if len(ours) > 1:
        issues.append(
            Issue(
                ONE_SLACK_TRIGGER,
                f"The workflow has {len(ours)} Slack triggers ({', '.join(ours)}); it takes one.",
                ours[1],
                "error",
                "Keep one Slack trigger and list every event it starts on in its `events`.",
            )
        )
    return issues


def _channel_of(params: Mapping[str, Any]) -> list[str]:
    if params.get("watchWorkspace") is True:
        return []
    raw = params.get("channelId")
    value = raw.get("value") if isinstance(raw, Mapping) else raw
    if not isinstance(value, str) or not value.strip() or value.startswith("="):
        return []
    value = value.strip()
    url = _URL_CHANNEL.search(value)
    if url:
        return [url.group(1)]
    return [value if value[:1] in "CG" and value.isupper() else "#" + value.lstrip("#").lower()]


def _emoji_of(params: Mapping[str, Any]) -> list[str]:
    options = params.get("options")
    raw = options.get("reactionEmojis") if isinstance(options, Mapping) else None
    if isinstance(raw, str):
        raw = re.split(r"[,\s]+", raw)
    if not isinstance(raw, list):
        return []
    return [e.strip().strip(":") for e in raw if isinstance(e, str) and e.strip().strip(":")]


def clixen_trigger_parameters(n8n_parameters: object) -> dict[str, Any] | None:
    """The parameters of Clixen's Slack trigger that stand for n8n's Slack Trigger with
    `n8n_parameters`; None when none of its events has a Clixen equivalent or the result
    would not hold (a message trigger with no channel)."""
    params = n8n_parameters if isinstance(n8n_parameters, Mapping) else {}
    raw = params.get("trigger")
    names = [raw] if isinstance(raw, str) else raw if isinstance(raw, list) else []
    events = list(dict.fromkeys(_EVENTS[n].value for n in names if n in _EVENTS))
    if not events:
        return None
    out: dict[str, Any] = {"events": events}
    channels = _channel_of(params)
    if channels:
        out["channels"] = channels
    emoji = _emoji_of(params)
    if emoji and TriggerEvent.reaction_added.value in events:
        out["emoji"] = emoji
    try:
        _parse_trigger({"name": "Slack trigger", "parameters": out})
    except InvalidInput:
        return None
    return out


def replace_n8n_slack_triggers(workflow: dict[str, Any]) -> list[str]:
    """Turn each n8n Slack Trigger of `workflow` (changed in place) into Clixen's Slack trigger;
    returns what was changed, one line each. Name, id, position and connections stay."""
    fixes: list[str] = []
    nodes = workflow.get("nodes")
    for node in nodes if isinstance(nodes, list) else []:
        if not isinstance(node, dict) or node.get("type") != N8N_SLACK_TRIGGER:
            continue
        params = clixen_trigger_parameters(node.get("parameters"))
        if params is None:
            continue
        node["type"] = SLACK_TRIGGER_TYPE
        node["typeVersion"] = 1
        node["parameters"] = params
        node.pop("credentials", None)
        node.pop("webhookId", None)
        fixes.append(
            f"{node.get('name')}: n8n's Slack Trigger never fires with Clixen's app; "
            "replaced by Clixen's Slack trigger (" + ", ".join(params["events"]) + ")"
        )
    return fixes
