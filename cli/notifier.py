"""The scheduler's events on a terminal: `clixen scheduler run` prints one plain line per event
(`[notify <channel> (thread <ts>)] <what happened>`); a picture is not drawn, only named
(`clixen graph … --execution ID` draws it)."""

from __future__ import annotations

import sys
import threading
from typing import TYPE_CHECKING, TextIO

from core.kernel.vocabulary import RunState
from core.scheduler.notify import (
    AccountConnected,
    DigestReady,
    ExecutionFailed,
    ReconnectNeeded,
    ReviewRequested,
    RunRecovered,
    SchedulerEvent,
    SmokeTestFinished,
)
from core.scheduler.smoke import format_smoke_message

if TYPE_CHECKING:
    from core.pipeline import ProgressEvent, RunOutcome


def event_line(event: SchedulerEvent) -> str:
    """What happened, in one line of plain text."""
    match event:
        case SmokeTestFinished():
            return format_smoke_message(event.outcome)
        case RunRecovered():
            outcome = event.outcome
            if outcome.state == RunState.succeeded:
                head = "interrupted by a restart; picked up again and finished it."
            elif outcome.state == RunState.failed:
                head = "interrupted by a restart and could not be finished."
            else:
                head = f"interrupted by a restart; picked up again ({outcome.state})."
            return f"Run {outcome.run_id} was {head} {outcome.message or ''}".rstrip()
        case AccountConnected():
            return (
                f"{event.account.label} is connected (project secret {event.account.secret_name})."
            )
        case ExecutionFailed():
            failure = event.failure
            where = f' at node "{failure.node}"' if failure.node else ""
            picture = (
                f" [picture {event.picture.filename}: not shown here]" if event.picture else ""
            )
            return (
                f'"{event.workflow_name}" failed in n8n{where} (execution '
                f"{failure.execution_id}): {failure.message[:500]} {event.next_step}{picture}"
            )
        case ReconnectNeeded():
            accounts = ", ".join(
                f"{a.label} (`clixen connect {a.service}`)" for a in event.accounts
            )
            return (
                f'"{event.workflow_name}" needs a reconnect (execution '
                f"{event.failure.execution_id}): {accounts or 'the account it uses'}."
            )
        case DigestReady():
            r = event.report
            return (
                f"{r.every} digest of {r.project}: {r.runs} runs, {r.failures} failed, "
                f"{r.repairs} repairs ({r.repairs_deployed} deployed), {r.tokens} tokens, "
                f"{r.active} active, {len(r.paused)} paused."
            )
        case ReviewRequested():
            q = event.request
            return (
                f'review #{q.review_id}: "{q.name}" v{q.version} ({q.source}) asked by '
                f"{q.requested_by} waits for an owner of project {q.project} "
                f"(`clixen reviews show {q.review_id}`, `clixen approve {q.review_id}`)."
            )


class PrintNotifier:
    """The CLI's notifier: one line per event on a stream (stdout by default). Runs it resumes
    are not followed step by step: their `RunRecovered` line says how each ended."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def notify(self, event: SchedulerEvent) -> None:
        where = event.where
        if where is None:
            place = "the project's owners"
        else:
            place = (
                f"{where.channel} (thread {where.thread_ts})" if where.thread_ts else where.channel
            )
        self._print(place, event_line(event))
        if isinstance(event, AccountConnected) and event.account.account:
            # Whose account it is goes to the person who connected it only.
            self._print(
                f"{place}, only to {event.user_id}",
                f"You connected {event.account.label} as {event.account.account}.",
            )

    def _print(self, place: str, text: str) -> None:
        line = " ".join(text.split())
        with self._lock:
            print(f"[notify {place}] {line}", file=self._stream or sys.stdout, flush=True)

    def run_progress(self, event: ProgressEvent) -> None:
        return None

    def run_finished(self, outcome: RunOutcome) -> None:
        return None
