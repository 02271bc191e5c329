"""The one payload shape a workflow started from Slack receives: these are the trigger's output
fields, read downstream as `$json.<field>` (`PAYLOAD_FIELDS`, defined with the node in
`core.kernel.slack_trigger`, names them for the validator's field checks, the catalog, the
prompts and the README).

Built in two steps: `event_payload` when an event is received (only what the event itself says:
the ack path makes no Slack call), then `enrich` at delivery (the reacted-to message's text, the
permalink, channel and user names, read through `SlackReader`).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from core.kernel.slack_trigger import PAYLOAD_FIELDS
from core.triggers.access import SlackReader

__all__ = ["PAYLOAD_FIELDS", "PayloadKind", "empty_payload", "enrich", "event_payload"]

MAX_TEXT = 12_000


class PayloadKind(StrEnum):
    message = "message"
    reaction_added = "reaction_added"
    member_joined_channel = "member_joined_channel"
    command = "command"
    shortcut = "shortcut"
    button = "button"
    test = "test"


def empty_payload(kind: str, *, team_id: str, event_id: str, workflow_id: int) -> dict[str, Any]:
    """Every field, empty, so a workflow can read any of them without a missing-field error."""
    return {
        "kind": kind,
        "team_id": team_id,
        "channel_id": "",
        "channel_name": "",
        "user_id": "",
        "user_name": "",
        "text": "",
        "ts": "",
        "thread_ts": "",
        "permalink": "",
        "reaction": "",
        "message": {"text": "", "ts": "", "user_id": "", "permalink": ""},
        "inputs": {},
        "event_id": event_id,
        "workflow_id": workflow_id,
    }


def _s(value: Any, limit: int = 64) -> str:
    return value[:limit] if isinstance(value, str) else ""


def event_payload(
    event: Mapping[str, Any], *, team_id: str, event_id: str, workflow_id: int
) -> dict[str, Any]:
    """What a Slack event itself says, in the payload's shape (no Slack call)."""
    kind = str(event.get("type"))
    out = empty_payload(kind, team_id=team_id, event_id=event_id, workflow_id=workflow_id)
    out["user_id"] = _s(event.get("user"))
    if kind == PayloadKind.reaction_added:
        raw = event.get("item")
        item: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
        out["channel_id"] = _s(item.get("channel"))
        out["ts"] = _s(item.get("ts"))
        out["reaction"] = _s(event.get("reaction"), 100)
        out["message"]["ts"] = out["ts"]
        out["message"]["user_id"] = _s(event.get("item_user"))
    else:
        out["channel_id"] = _s(event.get("channel"))
        out["ts"] = _s(event.get("ts"))
        out["thread_ts"] = _s(event.get("thread_ts"))
        out["text"] = _s(event.get("text"), MAX_TEXT)
    return out


def enrich(payload: dict[str, Any], reader: SlackReader) -> dict[str, Any]:
    """`payload` with what Slack knows beyond the event: for a reaction, the reacted-to
    message's text and author; the permalink; the channel's and the user's names. A Slack
    error propagates (the delivery is tried again later)."""
    out = dict(payload)
    channel, ts = out.get("channel_id") or "", out.get("ts") or ""
    if out.get("kind") == PayloadKind.reaction_added and channel and ts:
        found = reader.message(channel, ts)
        if found is not None:
            out["text"] = found.text[:MAX_TEXT]
            out["thread_ts"] = found.thread_ts or ""
            out["message"] = {**out["message"], "text": out["text"], "user_id": found.user_id}
    if channel and ts and not out.get("permalink"):
        out["permalink"] = reader.permalink(channel, ts, out.get("thread_ts") or None) or ""
        if out.get("kind") == PayloadKind.reaction_added:
            out["message"] = {**out["message"], "permalink": out["permalink"]}
    if channel and not out.get("channel_name"):
        out["channel_name"] = reader.channel_name(channel) or ""
    if out.get("user_id") and not out.get("user_name"):
        out["user_name"] = reader.user_name(out["user_id"]) or ""
    return out
