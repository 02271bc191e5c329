"""Where scheduler jobs send what they have to say. Core never imports Slack: the bot supplies a
Slack implementation of `Notifier`, the CLI prints."""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, TextIO

if TYPE_CHECKING:
    from core.pipeline import ProgressEvent, RunOutcome


@dataclass(frozen=True)
class Picture:
    """A PNG shown beside a message (a workflow picture), with what a reader who cannot see it
    is told instead (`alt_text`)."""

    png: bytes
    filename: str
    title: str
    alt_text: str


class Notifier(Protocol):
    """Posts a plain-text message to a channel (optionally in a thread), and `picture` beside it
    when the implementation can show one (else it is left out: the text says what happened).

    Returns the message's id (Slack `ts`) when the implementation has one, else None.
    """

    def post(
        self,
        channel: str,
        text: str,
        *,
        thread_ts: str | None = None,
        picture: Picture | None = None,
    ) -> str | None: ...


class PrivateNotifier(Protocol):
    """Optionally also implemented by a notifier that can show a message to one person only
    (Slack: an ephemeral message in the channel or thread): what names a person's account (an
    email) goes there, never into the channel."""

    def post_private(
        self, channel: str, user: str, text: str, *, thread_ts: str | None = None
    ) -> None: ...


class RunReporter(Protocol):
    """Optionally also implemented by a notifier that can show pipeline runs (the Slack bot's):
    run recovery then passes `run_progress` as the resumed runs' progress callback and calls
    `run_finished` with each outcome, so a resumed run ends where it started, in its own message."""

    def run_progress(self, event: ProgressEvent) -> None: ...

    def run_finished(self, outcome: RunOutcome) -> None: ...


class PrintNotifier:
    """The CLI's notifier: one line per message on a stream (stdout by default); a picture is
    not drawn in the terminal, only named (`clixen graph … --execution ID` draws it)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def post(
        self,
        channel: str,
        text: str,
        *,
        thread_ts: str | None = None,
        picture: Picture | None = None,
    ) -> str | None:
        where = f"{channel} (thread {thread_ts})" if thread_ts else channel
        self._print(where, text, picture)
        return None

    def post_private(
        self, channel: str, user: str, text: str, *, thread_ts: str | None = None
    ) -> None:
        where = f"{channel} (thread {thread_ts})" if thread_ts else channel
        self._print(f"{where}, only to {user}", text, None)

    def _print(self, where: str, text: str, picture: Picture | None) -> None:
        with self._lock:
            stream = self._stream or sys.stdout
            one_line = " ".join(text.split("\n"))
            if picture is not None:
                one_line += f" [picture {picture.filename}: not shown here]"
            print(f"[notify {where}] {one_line}", file=stream, flush=True)
