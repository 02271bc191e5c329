"""What scheduler jobs tell people, as typed events; the front end writes the words.

Core never writes Slack text (no mrkdwn, no emoji): a job hands a `SchedulerEvent` — a frozen
dataclass saying what happened, where (`Thread`: a channel and maybe a thread) and the facts — to
the `Notifier` it was given. The Slack bot's notifier (`bot/notifier.py`, words in
`bot/blocks/notices.py`) posts each as a Slack message; `clixen scheduler run` prints one plain
line per event (`cli/scheduler.py`). A new kind of message is a new event class here plus one
rendering per front end.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from core.connect.accounts import AccountInfo
from core.n8n import ExecutionFailure
from core.scheduler.smoke import SmokeOutcome

if TYPE_CHECKING:
    from core.pipeline import ProgressEvent, RunOutcome
    from core.scheduler.digest import DigestReport
    from core.scheduler.reviews import ReviewRequest


@dataclass(frozen=True)
class Picture:
    """A PNG shown beside a message (a workflow picture), with what a reader who cannot see it
    is told instead (`alt_text`)."""

    png: bytes
    filename: str
    title: str
    alt_text: str


@dataclass(frozen=True)
class Thread:
    """Where an event is told: a channel, and the thread in it (None: a new message)."""

    channel: str
    thread_ts: str | None = None


@dataclass(frozen=True)
class SmokeTestFinished:
    """The smoke test ran (told in the ops channel)."""

    where: Thread
    outcome: SmokeOutcome


@dataclass(frozen=True)
class RunRecovered:
    """A run interrupted by a restart was picked up again; `outcome` is where it ended."""

    where: Thread
    outcome: RunOutcome


@dataclass(frozen=True)
class AccountConnected:
    """An account `user_id` connected through n8n is bound to the project (never a token). The
    thread is told which service; whose account it is (an email) only `user_id`, privately."""

    where: Thread
    account: AccountInfo
    user_id: str


@dataclass(frozen=True)
class ExecutionFailed:
    """A deployed workflow failed in n8n; `next_step` says what became of it (the repair's own
    words: a new version deployed, or manual review); `picture` shows what the execution did."""

    where: Thread
    workflow_name: str
    failure: ExecutionFailure
    next_step: str
    picture: Picture | None = None


@dataclass(frozen=True)
class ReconnectNeeded:
    """n8n can no longer refresh a connected account's access: the accounts to connect again
    (empty when n8n did not say which)."""

    where: Thread
    workflow_name: str
    failure: ExecutionFailure
    accounts: tuple[AccountInfo, ...]


@dataclass(frozen=True)
class DigestReady:
    """A project's daily or weekly digest (`core.scheduler.digest`), told in its channel."""

    where: Thread
    report: DigestReport


@dataclass(frozen=True)
class ReviewRequested:
    """A new version waits for an owner's approval (review before live): the owners are shown
    `request` with its Approve and Reject buttons; `where` (the workflow's thread, None when it
    has none) hears that it waits."""

    where: Thread | None
    request: ReviewRequest


SchedulerEvent = (
    SmokeTestFinished
    | RunRecovered
    | AccountConnected
    | ExecutionFailed
    | ReconnectNeeded
    | DigestReady
    | ReviewRequested
)


class Notifier(Protocol):
    """Where scheduler jobs send what happened.

    `notify` tells one event. `run_progress` and `run_finished` follow a run the scheduler
    resumes (run recovery, a connected account): a front end that shows runs keeps the run's own
    progress message updating and ends it in its summary; one that does not may ignore both.
    """

    def notify(self, event: SchedulerEvent) -> None: ...

    def run_progress(self, event: ProgressEvent) -> None: ...

    def run_finished(self, outcome: RunOutcome) -> None: ...
