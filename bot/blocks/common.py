"""Small Block Kit element builders shared by the surfaces (pure: data in, dicts out)."""

from __future__ import annotations

import re
from typing import Any

Block = dict[str, Any]

# Slack limits we build within (section text 3000, option text 75, button value 2000).
SECTION_LIMIT = 3000
OPTION_LIMIT = 75


_BROADCAST = re.compile(r"@(channel|here|everyone)\b", re.IGNORECASE)


def escape(text: str) -> str:
    """`text` safe to echo in Slack mrkdwn: `&`, `<`, `>` escaped (so no `<!channel>`, `<@U…>`
    or links can be forged) and plain `@channel`/`@here`/`@everyone` defused."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _BROADCAST.sub(lambda m: "@\u200b" + m.group(1), text)


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def section(text: str, accessory: Block | None = None) -> Block:
    block: Block = {
        "type": "section",
        "text": {"type": "mrkdwn", "text": clip(text, SECTION_LIMIT)},
    }
    if accessory is not None:
        block["accessory"] = accessory
    return block


def context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": clip(text, SECTION_LIMIT)}]}


def divider() -> Block:
    return {"type": "divider"}


def header(text: str) -> Block:
    return {"type": "header", "text": {"type": "plain_text", "text": clip(text, 150)}}


def plain(text: str, limit: int = OPTION_LIMIT) -> dict[str, Any]:
    return {"type": "plain_text", "text": clip(text, limit), "emoji": True}


def button(
    text: str,
    action_id: str,
    value: str | None = None,
    *,
    style: str | None = None,
    url: str | None = None,
    confirm: Block | None = None,
) -> Block:
    element: Block = {"type": "button", "text": plain(text), "action_id": action_id}
    if value is not None:
        element["value"] = value
    if style is not None:
        element["style"] = style
    if url is not None:
        element["url"] = url
    if confirm is not None:
        element["confirm"] = confirm
    return element


def confirm_dialog(title: str, text: str, ok: str, deny: str = "Cancel") -> Block:
    return {
        "title": plain(title, 100),
        "text": {"type": "mrkdwn", "text": clip(text, 300)},
        "confirm": plain(ok, 30),
        "deny": plain(deny, 30),
        "style": "danger",
    }


def option(text: str, value: str) -> Block:
    return {"text": plain(text), "value": value}


def actions(*elements: Block, block_id: str | None = None) -> Block:
    block: Block = {"type": "actions", "elements": list(elements)}
    if block_id is not None:
        block["block_id"] = block_id
    return block


def person(user_id: str) -> str:
    """A Slack user id as a mention; anyone else (e.g. `cli:dora`) as plain text."""
    return f"<@{user_id}>" if re.fullmatch(r"[UW][A-Z0-9]{1,20}", user_id) else escape(user_id)
