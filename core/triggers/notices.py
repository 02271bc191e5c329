"""What the triggers have to tell people, as typed notices: the bot writes their Slack text
(in the workflow's thread, App Home), the CLI prints them. Core never writes Slack text.

`TriggerNotifier.notify` is called after the transaction that decided the notice committed, never
inside it; an implementation should not block long (the bot posts from a pool)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class WorkflowRef:
    """Where a notice about a workflow belongs: the workflow and its thread, when it has one."""

    workflow_id: int
    name: str
    project_id: int
    channel_id: str | None = None
    thread_ts: str | None = None


@dataclass(frozen=True)
class DeliveryGaveUp:
    """An event never reached the workflow: n8n did not accept it in `attempts` tries (or the
    workflow stopped meanwhile); `reason` says what n8n or the network answered last."""

    workflow: WorkflowRef
    event_kind: str
    channel_id: str
    attempts: int
    reason: str


@dataclass(frozen=True)
class RateLimited:
    """More events than the workflow may take per minute: those beyond were not delivered (one
    notice per minute window)."""

    workflow: WorkflowRef
    limit_per_minute: int


@dataclass(frozen=True)
class SubscriptionDropped:
    """A workflow stopped listening in a channel because its creator can no longer read it
    (left the channel) or is no longer an editor of the project."""

    workflow: WorkflowRef
    channel_id: str
    creator: str
    reason: str  # left_channel | left_project


@dataclass(frozen=True)
class OutboxFull:
    """Too many events wait for delivery across all workflows: new ones are refused until n8n
    catches up (one notice per minute window)."""

    pending: int


TriggerNotice = DeliveryGaveUp | RateLimited | SubscriptionDropped | OutboxFull


class TriggerNotifier(Protocol):
    def notify(self, notice: TriggerNotice) -> None: ...


@dataclass
class RecordingNotifier:
    """Keeps every notice (the CLI prints them; tests read them)."""

    notices: list[TriggerNotice] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def notify(self, notice: TriggerNotice) -> None:
        with self._lock:
            self.notices.append(notice)

    def of(self, kind: type) -> list[TriggerNotice]:
        with self._lock:
            return [n for n in self.notices if isinstance(n, kind)]


class _Quiet:
    def notify(self, notice: TriggerNotice) -> None:
        pass


QUIET: TriggerNotifier = _Quiet()
