"""What the scheduler says in Slack: its events as messages (words in `bot.blocks.notices`, with a
picture beside one when given), and the runs it resumes after a restart (their progress message
keeps updating and ends in the summary, like any other run's)."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from slack_sdk import WebClient

from bot.blocks.notices import connected_privately, notice_text
from bot.blocks.run_message import progress_blocks, progress_text
from bot.pictures import upload_png
from bot.reviews import show_review_request
from bot.run_threads import ProgressMessage, SlackProgress, report_outcome
from bot.services import BotServices
from core.pipeline import ProgressEvent, RunOutcome
from core.scheduler.notify import (
    AccountConnected,
    ExecutionFailed,
    ReviewRequested,
    SchedulerEvent,
)
from core.usecases.requests import record_run_message, run_thread

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _RunMessage:
    message: ProgressMessage
    request: str


class SlackNotifier:
    """The scheduler's `Notifier` (`core.scheduler.notify`) for Slack. It also reports resumed
    runs: `run_progress` edits the run's progress message (posting one in its thread if the run
    never got one) and `run_finished` turns it into the summary, question or failure."""

    def __init__(self, client: WebClient, services: BotServices | None = None) -> None:
        self.client = client
        self.services = services
        self._messages: dict[int, _RunMessage | None] = {}
        self._lock = threading.Lock()

    def notify(self, event: SchedulerEvent) -> None:
        """The event's message in its thread (or channel), then its picture in the same thread
        (under the message itself when it started none): a failed upload is logged and the text
        stands alone. A review request goes to the project's owners, each in a direct message
        (`bot.reviews`)."""
        if isinstance(event, ReviewRequested):
            show_review_request(self.client, event.request)
            return
        where = event.where
        assert where is not None
        response = self.client.chat_postMessage(
            channel=where.channel, text=notice_text(event), thread_ts=where.thread_ts
        )
        if isinstance(event, AccountConnected):
            self._tell_privately(event)
        picture = event.picture if isinstance(event, ExecutionFailed) else None
        if picture is not None:
            upload_png(
                self.client,
                channel=where.channel,
                thread_ts=where.thread_ts or str(response.get("ts") or "") or None,
                png=picture.png,
                filename=picture.filename,
                title=picture.title,
                alt_text=picture.alt_text,
            )

    def _tell_privately(self, event: AccountConnected) -> None:
        """An ephemeral message only the connecting user sees (in the thread); a failure (e.g.
        the user left the channel) is logged: the message is not posted anywhere else."""
        private = connected_privately(event)
        if private is None:
            return
        where = event.where
        assert where is not None
        try:
            self.client.chat_postEphemeral(
                channel=where.channel, user=event.user_id, text=private, thread_ts=where.thread_ts
            )
        except Exception:
            log.warning(
                "could not tell %s privately in %s", event.user_id, where.channel, exc_info=True
            )

    def run_progress(self, event: ProgressEvent) -> None:
        run = self._message_of(event.run_id)
        if run is not None:
            SlackProgress(self.client, run.message.channel, run.message.ts, run.request)(event)

    def run_finished(self, outcome: RunOutcome) -> None:
        run = self._message_of(outcome.run_id)
        with self._lock:
            self._messages.pop(outcome.run_id, None)
        if run is None or self.services is None:
            return
        report_outcome(
            self.services, self.client, outcome=outcome, message=run.message, request=run.request
        )

    def _message_of(self, run_id: int) -> _RunMessage | None:
        """The run's progress message (cached per run); None for runs not started from Slack."""
        with self._lock:
            if run_id in self._messages:
                return self._messages[run_id]
        message = self._load_or_post(run_id)
        with self._lock:
            self._messages[run_id] = message
        return message

    def _load_or_post(self, run_id: int) -> _RunMessage | None:
        if self.services is None:
            return None
        run = run_thread(self.services.session_factory, run_id)
        if run is None or not run.channel_id:
            return None
        channel, thread_ts = run.channel_id, run.thread_ts
        message_ts, request = run.message_ts, run.request
        if message_ts is None:
            # The process died before the progress message was posted: post it now.
            try:
                posted = self.client.chat_postMessage(
                    channel=channel,
                    thread_ts=thread_ts,
                    text=progress_text("understanding"),
                    blocks=progress_blocks(request=request, step="understanding"),
                )
            except Exception:
                log.warning("could not post the progress message of run %s", run_id, exc_info=True)
                return None
            message_ts = str(posted["ts"])
            record_run_message(self.services.session_factory, run_id=run_id, message_ts=message_ts)
        return _RunMessage(ProgressMessage(channel, message_ts), request)
