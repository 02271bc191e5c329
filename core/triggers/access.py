"""What core asks of Slack about channels and messages, as protocols: the bot implements them
over the Slack Web API (`bot/trigger_access.py`), tests use it against the Slack fake. Core never
imports Slack.

- `ChannelAccess`: who may listen where. A workflow listens only in channels its creator can
  read: a member of the channel, never a direct message. Checked when a subscription is made
  (the deploy), and for "anywhere" subscriptions at each delivery. Clixen itself must be in the
  channel (Slack sends nothing otherwise): the deploy joins a public one, and is refused with
  "invite Clixen" when it cannot.
- `SlackReader`: what a delivery adds to an event's payload (a reacted-to message's text, the
  permalink, names).

The process's implementations are installed once by the entry point (`install`); a process
without Slack (the CLI) has none, and then a trigger that names channels cannot be deployed there
(Clixen cannot check who may read them) — the message says to deploy it from Slack.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class ChannelKind(StrEnum):
    public = "public"
    private = "private"
    im = "im"
    mpim = "mpim"


@dataclass(frozen=True)
class Channel:
    id: str
    name: str
    kind: ChannelKind
    # Whether Clixen is in it: Slack sends a channel's events only to apps that are.
    clixen_in: bool = True


@dataclass(frozen=True)
class SlackMessage:
    text: str
    ts: str
    user_id: str
    thread_ts: str | None = None


class ChannelAccess(Protocol):
    def channel(self, ref: str) -> Channel | None:
        """The channel `ref` (an id, or a name with or without #) names; None if none."""
        ...

    def can_read(self, user_id: str, channel_id: str) -> bool:
        """Whether `user_id` is a member of the channel (so can read what is posted there)."""
        ...

    def join(self, channel_id: str) -> bool:
        """Clixen joins the (public) channel, so its events reach Clixen; False if it cannot."""
        ...


class SlackReader(Protocol):
    def message(self, channel_id: str, ts: str) -> SlackMessage | None: ...

    def permalink(self, channel_id: str, ts: str, thread_ts: str | None = None) -> str | None: ...

    def channel_name(self, channel_id: str) -> str | None: ...

    def user_name(self, user_id: str) -> str | None: ...


@dataclass
class _Installed:
    access: ChannelAccess | None = None


_INSTALLED = _Installed()


def install(access: ChannelAccess | None) -> None:
    """Set the process's channel access (the bot's, at start; None removes it)."""
    _INSTALLED.access = access


def installed() -> ChannelAccess | None:
    return _INSTALLED.access
