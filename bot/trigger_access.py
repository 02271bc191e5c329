"""Slack's answers to what core's Slack triggers ask (`core.triggers.access`), over the Web API:
which channel a name or id is and who is a member of it (`SlackChannelAccess`), and what a
delivery adds to an event's payload (`SlackTriggerReader`: a message's text, its permalink, the
channel's and the user's names). Answers are cached briefly: a flood of events in one channel
asks Slack once, not once per event.

`clixen serve` installs `SlackChannelAccess` (`core.triggers.install`) and hands both to the
`DeliveryWorker`.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from core.triggers import Channel, ChannelKind, SlackMessage

_ID = re.compile(r"^[CGD][A-Z0-9]{2,20}$")
CACHE_S = 60.0
MESSAGE_CACHE_S = 5.0
MEMBER_PAGES = 20  # conversations.members: up to 20,000 members looked at
T = TypeVar("T")


class _Cache:
    def __init__(self, ttl_s: float) -> None:
        self._ttl = ttl_s
        self._lock = threading.Lock()
        self._items: dict[Any, tuple[float, Any]] = {}

    def get(self, key: Any, load: Callable[[], T]) -> T:
        now = time.monotonic()
        with self._lock:
            hit = self._items.get(key)
            if hit is not None and now - hit[0] < self._ttl:
                return hit[1]  # type: ignore[no-any-return]
        value = load()
        with self._lock:
            if len(self._items) > 10_000:
                self._items.clear()
            self._items[key] = (now, value)
        return value


def _channel_of(info: dict[str, Any]) -> Channel:
    if info.get("is_im"):
        kind = ChannelKind.im
    elif info.get("is_mpim"):
        kind = ChannelKind.mpim
    elif info.get("is_private"):
        kind = ChannelKind.private
    else:
        kind = ChannelKind.public
    member = info.get("is_member")
    return Channel(
        str(info["id"]),
        str(info.get("name") or info["id"]),
        kind,
        clixen_in=member is not False,  # unknown (not said): assume in, as Slack lists it
    )


class SlackChannelAccess:
    """`ChannelAccess` over conversations.info / conversations.list / conversations.members,
    and conversations.join."""

    def __init__(self, client: WebClient, *, cache_s: float = CACHE_S) -> None:
        self._client = client
        self._cache = _Cache(cache_s)

    def channel(self, ref: str) -> Channel | None:
        ref = ref.strip()
        if _ID.match(ref):
            return self._cache.get(("channel", ref), lambda: self._info(ref))
        name = ref.lstrip("#").lower()
        return self._cache.get(("name", name), lambda: self._by_name(name))

    def _info(self, channel_id: str) -> Channel | None:
        try:
            response = self._client.conversations_info(channel=channel_id)
        except SlackApiError as e:
            if e.response.get("error") in ("channel_not_found", "not_in_channel"):
                return None
            raise
        info = response.get("channel")
        return _channel_of(info) if isinstance(info, dict) and info.get("id") else None

    def _by_name(self, name: str) -> Channel | None:
        cursor = None
        for _ in range(MEMBER_PAGES):
            response = self._client.conversations_list(
                types="public_channel,private_channel",
                exclude_archived=True,
                limit=1000,
                cursor=cursor,
            )
            for info in response.get("channels") or []:
                if str(info.get("name", "")).lower() == name and info.get("id"):
                    return _channel_of(info)
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return None
        return None

    def join(self, channel_id: str) -> bool:
        try:
            self._client.conversations_join(channel=channel_id)
        except SlackApiError:
            return False
        return True

    def can_read(self, user_id: str, channel_id: str) -> bool:
        return self._cache.get(
            ("member", user_id, channel_id), lambda: self._member(user_id, channel_id)
        )

    def _member(self, user_id: str, channel_id: str) -> bool:
        cursor = None
        for _ in range(MEMBER_PAGES):
            try:
                response = self._client.conversations_members(
                    channel=channel_id, limit=1000, cursor=cursor
                )
            except SlackApiError as e:
                if e.response.get("error") in ("channel_not_found", "not_in_channel"):
                    return False
                raise
            if user_id in (response.get("members") or []):
                return True
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return False
        return False


class SlackTriggerReader:
    """`SlackReader` over conversations.history / conversations.replies, auth.test (the
    workspace URL, for permalinks), conversations.info and users.info."""

    def __init__(self, client: WebClient, *, cache_s: float = CACHE_S) -> None:
        self._client = client
        self._cache = _Cache(cache_s)
        # One event for several workflows reads its message once (a few seconds: edits show).
        self._messages = _Cache(min(cache_s, MESSAGE_CACHE_S))

    def message(self, channel_id: str, ts: str) -> SlackMessage | None:
        return self._messages.get((channel_id, ts), lambda: self._message(channel_id, ts))

    def _message(self, channel_id: str, ts: str) -> SlackMessage | None:
        response = self._client.conversations_history(
            channel=channel_id, latest=ts, oldest=ts, inclusive=True, limit=1
        )
        found = [m for m in response.get("messages") or [] if m.get("ts") == ts]
        if not found:  # a reply in a thread is not in the history: ask the thread
            response = self._client.conversations_replies(
                channel=channel_id, ts=ts, latest=ts, oldest=ts, inclusive=True, limit=1
            )
            found = [m for m in response.get("messages") or [] if m.get("ts") == ts]
        if not found:
            return None
        m = found[0]
        return SlackMessage(
            text=str(m.get("text") or ""),
            ts=ts,
            user_id=str(m.get("user") or m.get("bot_id") or ""),
            thread_ts=m.get("thread_ts"),
        )

    def permalink(self, channel_id: str, ts: str, thread_ts: str | None = None) -> str | None:
        """Slack's link to the message, composed from the workspace's URL (auth.test, asked
        once) the way Slack writes it — no call per event; chat.getPermalink when the URL is
        unknown."""
        base = self._cache.get(("team_url",), self._team_url)
        if base:
            link = f"{base.rstrip('/')}/archives/{channel_id}/p{ts.replace('.', '')}"
            if thread_ts and thread_ts != ts:
                link += f"?thread_ts={thread_ts}&cid={channel_id}"
            return link
        response = self._client.chat_getPermalink(channel=channel_id, message_ts=ts)
        found = response.get("permalink")
        return str(found) if found else None

    def _team_url(self) -> str | None:
        try:
            url = self._client.auth_test().get("url")
        except SlackApiError:
            return None
        return str(url) if isinstance(url, str) and url.startswith("https://") else None

    def channel_name(self, channel_id: str) -> str | None:
        def load() -> str | None:
            try:
                info = self._client.conversations_info(channel=channel_id).get("channel") or {}
            except SlackApiError:
                return None
            return str(info.get("name")) if info.get("name") else None

        return self._cache.get(("channel", channel_id), load)

    def user_name(self, user_id: str) -> str | None:
        def load() -> str | None:
            try:
                user = self._client.users_info(user=user_id).get("user") or {}
            except SlackApiError:
                return None
            profile = user.get("profile") or {}
            name = profile.get("display_name") or user.get("real_name") or user.get("name")
            return str(name) if name else None

        return self._cache.get(("user", user_id), load)
