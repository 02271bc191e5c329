"""A workflow's runs in n8n: its last executions (status, start, duration, the node that failed,
a link), a page at a time, and one failed execution opened: its picture with the failed node
marked and the error in plain words.

Anyone who may see the workflow may see its runs. An execution id from a front end is checked
against the workflow (n8n's `workflowId`): a forged one naming another workflow's execution is
NotFound.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy.orm import Session, sessionmaker

from core.deploy.workflows import get_workflow, head_version
from core.graph import Layout, execution_marks, layout_workflow
from core.kernel.errors import InvalidInput, NotFound, SettingsError
from core.kernel.logging import redact
from core.kernel.settings import Settings
from core.n8n import N8nClient, N8nNotFound
from core.n8n.client import execution_failure
from core.workspace.projects import Actor

PAGE_SIZE: Final = 10
MAX_PAGE: Final = 50
FAILED: Final = frozenset({"error", "crashed"})


@dataclass(frozen=True)
class RunRow:
    """One execution of the workflow in n8n."""

    execution_id: str
    status: str  # n8n's: success | error | crashed | running | waiting | canceled | …
    mode: str | None  # trigger | webhook | manual | …
    started_at: dt.datetime | None
    duration_s: float | None
    failed_node: str | None
    error: str | None  # a failed one's error in plain words (n8n's, shortened, if not known)
    url: str | None

    @property
    def failed(self) -> bool:
        return self.status in FAILED


@dataclass(frozen=True)
class RunsPage:
    """A page of the workflow's executions, newest first; `next_cursor` reads the next page."""

    workflow_id: int
    name: str
    runs: list[RunRow]
    next_cursor: str | None
    deployed: bool  # False: never deployed, or deleted (n8n has no runs to show)


@dataclass(frozen=True)
class FailedRun:
    """A failed execution opened: where and why it failed, and its picture."""

    workflow_id: int
    name: str
    execution_id: str
    node: str | None
    message: str  # n8n's words
    plain: str  # what it means, in plain words
    url: str | None
    picture: Layout
    channel: str | None
    thread_ts: str | None


# n8n's error messages → what they mean for the person who owns the workflow.
_PLAIN: Final[list[tuple[re.Pattern[str], str]]] = [
    (
        re.compile(r"\b401\b|unauthori[sz]ed|authorization failed|invalid (api )?key", re.I),
        "the service refused the account's credentials (wrong, expired or revoked): "
        "connect the account again or update the secret",
    ),
    (
        re.compile(r"\b403\b|forbidden|not_in_channel|missing_scope|permission", re.I),
        "the account is not allowed to do this (a missing permission, or the bot is not in "
        "that channel)",
    ),
    (
        re.compile(r"\b404\b|not found|channel_not_found|does not exist", re.I),
        "what the step points at does not exist (a wrong address, channel, sheet or id)",
    ),
    (
        re.compile(r"\b429\b|rate.?limit|too many requests", re.I),
        "the service is limiting how often it may be called; it will likely work later",
    ),
    (
        re.compile(r"ENOTFOUND|EAI_AGAIN|getaddrinfo", re.I),
        "the address's host name could not be found (a typo in the URL, or the service is gone)",
    ),
    (
        re.compile(
            r"ECONNREFUSED|ECONNRESET|socket hang up|EHOSTUNREACH|refused the connection|offline",
            re.I,
        ),
        "the service could not be reached (it is down or refuses connections)",
    ),
    (
        re.compile(r"timed? ?out|ETIMEDOUT|timeout", re.I),
        "the service took too long to answer",
    ),
    (
        re.compile(r"\b5\d\d\b|internal server error|bad gateway|service unavailable", re.I),
        "the service had an error of its own; it will likely work later",
    ),
    (
        re.compile(r"cannot read propert|undefined|is not defined|invalid syntax", re.I),
        "an expression or code step read a field the data did not have",
    ),
    (
        re.compile(r"json", re.I),
        "the data was not in the shape the step expected (JSON)",
    ),
]


def error_meaning(message: str) -> str | None:
    """What an n8n error message means for the workflow's owner (None: not one we know)."""
    for pattern, meaning in _PLAIN:
        if pattern.search(message):
            return meaning
    return None


def plain_error(message: str, node: str | None) -> str:
    """What a failed execution's error means, in a sentence (n8n's own words follow it)."""
    where = f"The step “{node}” failed" if node else "The workflow failed"
    meaning = error_meaning(message)
    return f"{where}: {meaning}." if meaning else f"{where}; n8n said why below."


def _time(value: Any) -> dt.datetime | None:
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _base(settings: Settings) -> str | None:
    base = settings.n8n_public_url or settings.n8n_url
    return base.rstrip("/") if base else None


def _execution_url(settings: Settings, n8n_id: str, execution_id: str) -> str | None:
    base = _base(settings)
    return f"{base}/workflow/{n8n_id}/executions/{execution_id}" if base else None


def _need(n8n: N8nClient | None) -> N8nClient:
    if n8n is None:
        raise SettingsError(["N8N_URL and N8N_API_KEY are needed to read a workflow's runs."])
    return n8n


def _workflow(
    session_factory: sessionmaker[Session], actor: Actor, workflow_id: int
) -> tuple[str, str | None, str | None, str | None, dict[str, Any]]:
    """(name, n8n id, channel, thread, head version's JSON) for anyone who may see it."""
    with session_factory.begin() as session:
        wf = get_workflow(
            session=session, workflow_id=workflow_id, team_id=actor.team_id, user_id=actor.user_id
        )
        head = head_version(session=session, workflow_id=wf.id)
        n8n_id = wf.n8n_workflow_id if wf.status != "deleted" else None
        return (
            wf.name,
            n8n_id,
            wf.slack_channel_id,
            wf.slack_thread_ts,
            dict(head.json_payload) if head is not None else {},
        )


def runs_of(
    session_factory: sessionmaker[Session],
    *,
    n8n: N8nClient | None,
    settings: Settings,
    actor: Actor,
    workflow_id: int,
    cursor: str | None = None,
    limit: int = PAGE_SIZE,
) -> RunsPage:
    """The workflow's last executions in n8n, newest first (`cursor`: the next page). Each
    failed one names the node that failed and what it means."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"A page holds 1 to {MAX_PAGE} runs.")
    name, n8n_id, _, _, _ = _workflow(session_factory, actor, workflow_id)
    if n8n_id is None:
        return RunsPage(workflow_id, name, [], None, deployed=False)
    client = _need(n8n)
    page = client.list_executions(workflow_id=n8n_id, limit=limit, cursor=cursor)
    rows = []
    for item in page.items:
        execution_id = str(item.get("id"))
        status = str(item.get("status") or ("success" if item.get("finished") else "unknown"))
        started, stopped = _time(item.get("startedAt")), _time(item.get("stoppedAt"))
        duration = (stopped - started).total_seconds() if started and stopped else None
        node = error = None
        if status in FAILED:
            try:
                failure = execution_failure(client.get_execution(execution_id, include_data=True))
            except N8nNotFound:
                failure = None
            if failure is not None:
                meaning = error_meaning(failure.message)
                node = failure.node
                error = meaning or redact(" ".join(failure.message.split())[:200])
        rows.append(
            RunRow(
                execution_id=execution_id,
                status=status,
                mode=str(item["mode"]) if item.get("mode") else None,
                started_at=started,
                duration_s=duration,
                failed_node=node,
                error=error,
                url=_execution_url(settings, n8n_id, execution_id),
            )
        )
    return RunsPage(workflow_id, name, rows, page.next_cursor, deployed=True)


def failed_run(
    session_factory: sessionmaker[Session],
    *,
    n8n: N8nClient | None,
    settings: Settings,
    actor: Actor,
    workflow_id: int,
    execution_id: str,
) -> FailedRun:
    """One execution of the workflow opened: the node that failed, n8n's message and what it
    means, and the picture of the version that ran with what each node did marked. NotFound
    for an execution of another workflow (or none)."""
    if not execution_id.isdigit() or len(execution_id) > 20:
        raise InvalidInput("An execution id is a number (see the runs list).")
    name, n8n_id, channel, thread, head = _workflow(session_factory, actor, workflow_id)
    if n8n_id is None:
        raise NotFound(f"Workflow {name!r} is not in n8n; it has no runs to open.")
    try:
        execution = _need(n8n).get_execution(execution_id, include_data=True)
    except N8nNotFound:
        execution = {}
    if str(execution.get("workflowId") or "") != n8n_id:
        raise NotFound(f"Workflow {name!r} has no execution {execution_id}.")
    failure = execution_failure(execution)
    ran = execution.get("workflowData")
    shown = dict(ran) if isinstance(ran, dict) and ran.get("nodes") else head
    marks = execution_marks(shown, execution)
    picture = layout_workflow(shown, marks=marks, title=f"{name} · execution {execution_id}")
    node = failure.node if failure else None
    message = failure.message if failure else "This execution did not fail."
    return FailedRun(
        workflow_id=workflow_id,
        name=name,
        execution_id=execution_id,
        node=node,
        message=redact(message[:1500]),
        plain=plain_error(message, node) if failure else "This execution did not fail.",
        url=_execution_url(settings, n8n_id, execution_id),
        picture=picture,
        channel=channel,
        thread_ts=thread,
    )
