"""The scheduler's events as Slack messages (pure: an event in, mrkdwn text out).

Core says what happened (`core.scheduler.notify`: typed events); this module says it in Slack,
escaping everything that came from n8n, the model or a user (node names, messages, labels).
"""

from __future__ import annotations

from bot.blocks.common import escape
from bot.blocks.reviews import waits_text
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


def notice_text(event: SchedulerEvent) -> str:
    """The Slack message that tells `event` in its thread (or the ops channel)."""
    match event:
        case SmokeTestFinished():
            return escape(format_smoke_message(event.outcome))
        case RunRecovered():
            return recovery_notice(event)
        case AccountConnected():
            return connected_notice(event)
        case ExecutionFailed():
            return failure_notice(event)
        case ReconnectNeeded():
            return reconnect_notice(event)
        case DigestReady():
            return digest_notice(event)
        case ReviewRequested():
            q = event.request
            return waits_text(
                name=q.name, version=q.version, review_id=q.review_id, requested_by=q.requested_by
            )


def recovery_notice(event: RunRecovered) -> str:
    """What became of a request a restart interrupted."""
    outcome = event.outcome
    message = escape((outcome.message or "")[:1500])
    if outcome.state == RunState.succeeded:
        head = "Your request was interrupted by a restart; I picked it up again and finished it."
    elif outcome.state == RunState.failed:
        head = "Your request was interrupted by a restart and could not be finished."
    else:
        head = "Your request was interrupted by a restart; I picked it up again."
    return f":arrows_counterclockwise: {head}\n{message}".rstrip()


def connected_notice(event: AccountConnected) -> str:
    """An account was connected: which service, never whose account (an email is said only to
    the person who connected it: `connected_privately`) and never a token (n8n holds it)."""
    return (
        f":white_check_mark: {escape(event.account.label)} is connected "
        f"(project secret {escape(event.account.secret_name)})."
    )


def connected_privately(event: AccountConnected) -> str | None:
    """What only the person who connected is told: the account, when the provider named it."""
    if not event.account.account:
        return None
    return (
        f"You connected {escape(event.account.label)} as {escape(event.account.account)}. "
        "Only you see this message."
    )


def failure_notice(event: ExecutionFailed) -> str:
    """A runtime error and what became of it (n8n's and the repair's text escaped: both can
    quote what the workflow or the model produced)."""
    failure = event.failure
    where = f" at node “{escape(failure.node)}”" if failure.node else ""
    return (
        f":warning: “{escape(event.workflow_name)}” failed in n8n{where} "
        f"(execution {failure.execution_id}): {escape(failure.message[:500])}\n"
        f"{escape(event.next_step[:1500])}"
    )


def reconnect_notice(event: ReconnectNeeded) -> str:
    """A connected account must be connected again, with the command that does it."""
    which = "\n".join(
        # Posted in the workflow's thread: never whose account it is (an email).
        f"• {escape(a.label)}: `/clixen connect {escape(a.service)}`"
        for a in event.accounts
    ) or ("• the account this workflow uses (reconnect it where it was connected)")
    return (
        f":link: “{escape(event.workflow_name)}” needs a reconnect "
        f"(execution {event.failure.execution_id}): n8n can no longer refresh the access of a "
        f"connected account (consent revoked or expired). Reconnect it and the workflow runs "
        f"again:\n{which}"
    )


def digest_notice(event: DigestReady) -> str:
    """A project's daily or weekly digest: runs, failures, the workflows that failed or ran
    most, repairs, tokens, paused workflows."""
    r = event.report
    lines = [
        f":bar_chart: *{r.every.capitalize()} digest of {escape(r.project)}* "
        f"({r.since:%b %d %H:%M} – {r.until:%b %d %H:%M} UTC)",
        f"• Runs in n8n: *{r.runs}*, failed: *{r.failures}*",
    ]
    for w in r.busiest:
        failed = f", {w.failures} failed" if w.failures else ""
        lines.append(f"    ◦ {escape(w.name)}: {w.runs} run{'s' if w.runs != 1 else ''}{failed}")
    lines.append(f"• Automatic repairs: *{r.repairs}* ({r.repairs_deployed} deployed)")
    lines.append(f"• LLM tokens used: *{r.tokens:,}*")
    paused = f" · paused: {', '.join(escape(n) for n in r.paused)}" if r.paused else ""
    lines.append(f"• Workflows active: *{r.active}*{paused}")
    if r.unread:
        lines.append(f"_n8n did not list the runs of {', '.join(escape(n) for n in r.unread)}._")
    lines.append("_Turn it off with `/clixen digest off`._")
    return "\n".join(lines)
