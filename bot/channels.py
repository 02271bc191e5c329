"""The Clixen bot in the channels a workflow posts to: it joins a public channel it is not in
(`conversations.join`) and says exactly whom to invite where when it cannot."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks.common import escape

log = logging.getLogger(__name__)

_CHANNEL_ID = re.compile(r"[CG][A-Z0-9]{6,}")


def bot_scopes(client: WebClient) -> tuple[str, ...]:
    """The bot token's scopes (Slack's `x-oauth-scopes` header of auth.test); () when unknown."""
    try:
        response = client.auth_test()
    except SlackApiError:
        return ()
    headers = {k.lower(): v for k, v in (response.headers or {}).items()}
    raw = headers.get("x-oauth-scopes", "")
    value = raw[0] if isinstance(raw, list) and raw else raw
    return tuple(s.strip() for s in str(value or "").split(",") if s.strip())


def _public_channels(client: WebClient) -> dict[str, str]:
    """Public channel name → id (the first 1,000: enough to find a workspace's usual ones)."""
    try:
        response = client.conversations_list(
            types="public_channel", exclude_archived=True, limit=1000
        )
    except SlackApiError:
        log.warning("could not list public channels", exc_info=True)
        return {}
    return {
        str(c.get("name", "")).lower(): str(c.get("id"))
        for c in response.get("channels") or []
        if c.get("id")
    }


def join_channels(
    client: WebClient,
    channels: Iterable[str],
    *,
    otherwise: str = "the workflow's posts to it will fail",
) -> list[str]:
    """Join each channel (an id, or a #name of a public channel); returns one sentence per
    channel the bot could not join, saying whom to invite where (and `otherwise`, what fails
    if nobody does)."""
    notes: list[str] = []
    by_name: dict[str, str] | None = None
    for ref in channels:
        channel_id: str | None = ref
        if not _CHANNEL_ID.fullmatch(ref):
            by_name = _public_channels(client) if by_name is None else by_name
            channel_id = by_name.get(ref.lstrip("#").lower())
        if channel_id is None:
            notes.append(
                f"I cannot find a public channel {escape(ref)}: if it is private, invite me "
                f"there (`/invite @Clixen` in {escape(ref)})."
            )
            continue
        try:
            client.conversations_join(channel=channel_id)
        except SlackApiError as e:
            error = e.response.get("error") if e.response is not None else "error"
            notes.append(
                f"I could not join <#{channel_id}> ({error}): invite me there with "
                f"`/invite @Clixen`, or {otherwise}."
            )
    return notes
