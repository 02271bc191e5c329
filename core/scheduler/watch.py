"""The execution watch (`watch_executions`, fired by `core.scheduler.jobs.execution_watch_job`):
read new finished executions of recently deployed workflows from n8n, record how each workflow
last ran, and for a failure start a repair and tell the workflow's thread (an `ExecutionFailed`
event, with the picture of what the execution did to each node)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from core.connect.accounts import RECONNECT_MESSAGE, mark_needs_reconnect, record_use
from core.kernel.models import Workflow, WorkflowVersion
from core.kernel.vocabulary import WorkflowStatus
from core.n8n import ExecutionFailure, N8nClient, N8nError, execution_failure
from core.scheduler.notify import ExecutionFailed, Notifier, Picture, ReconnectNeeded, Thread

logger = logging.getLogger(__name__)


FINISHED = frozenset({"success", "error", "crashed", "canceled"})
FAILED = frozenset({"error", "crashed"})
# At most this many executions are read per workflow and watch (a workflow firing every
# second must not turn one watch into thousands of requests); older ones are only counted.
MAX_EXECUTIONS_PER_WATCH = 250


# --- execution watch --------------------------------------------------------------------------


class RepairStarter(Protocol):
    """Starts the repair loop of a deployed workflow after a runtime error (within the caps);
    returns one line for the workflow's thread saying what happened, or None when there is
    nothing new to tell (the execution ran a replaced version, or the workflow was already
    reported as needing manual review): then the thread gets no message."""

    def __call__(self, *, workflow_id: int, failure: ExecutionFailure) -> str | None: ...


@dataclass(frozen=True)
class WatchedWorkflow:
    id: int
    name: str
    n8n_workflow_id: str
    last_checked_execution_id: str | None
    slack_channel_id: str | None
    slack_thread_ts: str | None


def _id_key(execution_id: str) -> tuple[int, str]:
    return (int(execution_id), "") if execution_id.isdigit() else (0, execution_id)


def _new_finished_executions(
    client: N8nClient, n8n_workflow_id: str, after_id: str | None
) -> list[dict[str, Any]]:
    """Executions newer than `after_id` that have finished, newest first. Stops below the oldest
    execution still running, so the watch never moves its cursor past an unfinished one."""
    new: list[dict[str, Any]] = []
    for count, item in enumerate(client.iter_executions(workflow_id=n8n_workflow_id, limit=50)):
        if after_id is not None and _id_key(str(item.get("id"))) <= _id_key(after_id):
            break
        new.append(item)
        if count + 1 >= MAX_EXECUTIONS_PER_WATCH:
            break
    unfinished = [i for i, e in enumerate(new) if e.get("status") not in FINISHED]
    if unfinished:
        new = new[unfinished[-1] + 1 :]
    return new


def watched_workflows(
    *, session: Session, now: dt.datetime, window_h: float
) -> list[WatchedWorkflow]:
    """Active workflows with a version deployed within `window_h` hours of `now`."""
    cutoff = now - dt.timedelta(hours=window_h)
    last_deploy = (
        select(
            WorkflowVersion.workflow_id.label("workflow_id"),
            func.max(WorkflowVersion.deployed_at).label("deployed_at"),
        )
        .group_by(WorkflowVersion.workflow_id)
        .subquery()
    )
    rows = session.execute(
        select(
            Workflow.id,
            Workflow.name,
            Workflow.n8n_workflow_id,
            Workflow.last_checked_execution_id,
            Workflow.slack_channel_id,
            Workflow.slack_thread_ts,
        )
        .join(last_deploy, last_deploy.c.workflow_id == Workflow.id)
        .where(
            Workflow.status == WorkflowStatus.active,
            Workflow.n8n_workflow_id.is_not(None),
            last_deploy.c.deployed_at >= cutoff,
        )
        .order_by(Workflow.id)
    ).all()
    return [
        WatchedWorkflow(r[0], r[1], str(r[2]), r[3], r[4], r[5]) for r in rows if r[2] is not None
    ]


def _parse_time(value: Any) -> dt.datetime | None:
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def watch_executions(
    *,
    session_factory: sessionmaker[Session],
    client: N8nClient,
    notifier: Notifier | None,
    repair: RepairStarter | None,
    now: dt.datetime,
    window_h: float = 24.0,
) -> dict[str, Any]:
    """Read the new executions of recently deployed workflows; record the latest status; on a
    runtime error, report it in the workflow's thread and start the repair loop.

    Each workflow's cursor (`last_checked_execution_id`) moves with a compare-and-set, so a
    failure is reported and repaired once even if two watches ever read it concurrently.
    """
    with session_factory.begin() as session:
        watched = watched_workflows(session=session, now=now, window_h=window_h)
    summary: dict[str, Any] = {"watched": len(watched), "new": 0, "failed": [], "errors": 0}
    for wf in watched:
        try:
            new = _new_finished_executions(client, wf.n8n_workflow_id, wf.last_checked_execution_id)
        except N8nError as e:
            logger.warning("watch: cannot list executions of workflow %s: %s", wf.id, e)
            summary["errors"] += 1
            continue
        if not new:
            continue
        if not _move_cursor(session_factory, wf, newest=new[0], now=now):
            continue  # another watch took these executions
        summary["new"] += len(new)
        succeeded = [e for e in new if e.get("status") == "success"]
        if succeeded:
            _record_use(session_factory, wf, _parse_time(succeeded[0].get("stoppedAt")) or now)
        failed = [e for e in new if e.get("status") in FAILED]
        if not failed:
            continue
        failure, detailed = _failure_of(client, failed[0])
        summary["failed"].append({"workflow_id": wf.id, "execution_id": failure.execution_id})
        if RECONNECT_MESSAGE in failure.message:
            # A revoked or expired consent: no repair can fix it, the user reconnects.
            _report_reconnect(session_factory, wf, failure, detailed, notifier=notifier, now=now)
            summary.setdefault("needs_reconnect", []).append(wf.id)
            continue
        _report_and_repair(wf, failure, detailed, notifier=notifier, repair=repair)
    return summary


def _move_cursor(
    session_factory: sessionmaker[Session],
    wf: WatchedWorkflow,
    *,
    newest: dict[str, Any],
    now: dt.datetime,
) -> bool:
    """Move the workflow's cursor to `newest` and record its status, if no other watch moved
    it since `wf` was read (compare-and-set); False when one did."""
    with session_factory.begin() as session:
        moved = session.execute(
            update(Workflow)
            .where(
                Workflow.id == wf.id,
                Workflow.last_checked_execution_id.is_(None)
                if wf.last_checked_execution_id is None
                else Workflow.last_checked_execution_id == wf.last_checked_execution_id,
            )
            .values(
                last_checked_execution_id=str(newest.get("id")),
                last_execution_status=str(newest.get("status"))[:16],
                last_execution_at=_parse_time(newest.get("stoppedAt"))
                or _parse_time(newest.get("startedAt"))
                or now,
            )
            .execution_options(synchronize_session=False)
        )
    return bool(getattr(moved, "rowcount", 0))


def _credential_ids(nodes: Any, only: str | None = None) -> set[str]:
    """The n8n credential ids the workflow's nodes (or node `only`) are bound to."""
    ids: set[str] = set()
    for node in nodes if isinstance(nodes, list) else []:
        if not isinstance(node, Mapping) or (only is not None and node.get("name") != only):
            continue
        creds = node.get("credentials")
        for ref in creds.values() if isinstance(creds, Mapping) else []:
            if isinstance(ref, Mapping) and ref.get("id"):
                ids.add(str(ref["id"]))
    return ids


def _record_use(
    session_factory: sessionmaker[Session], wf: WatchedWorkflow, at: dt.datetime
) -> None:
    """A successful execution: the connected accounts its deployed version uses were used."""
    with session_factory.begin() as session:
        payload = session.scalar(
            select(WorkflowVersion.json_payload)
            .where(WorkflowVersion.workflow_id == wf.id)
            .order_by(WorkflowVersion.version.desc())
            .limit(1)
        )
        nodes = payload.get("nodes") if isinstance(payload, Mapping) else None
        record_use(session=session, n8n_credential_ids=_credential_ids(nodes), at=at)


def _report_reconnect(
    session_factory: sessionmaker[Session],
    wf: WatchedWorkflow,
    failure: ExecutionFailure,
    execution: Mapping[str, Any] | None,
    *,
    notifier: Notifier | None,
    now: dt.datetime,
) -> None:
    """n8n could not refresh an OAuth2 token: mark the accounts and the workflow "needs
    reconnect" and say in the workflow's thread how to reconnect."""
    ran = (execution or {}).get("workflowData")
    nodes = ran.get("nodes") if isinstance(ran, Mapping) else None
    ids = _credential_ids(nodes, failure.node) or _credential_ids(nodes)
    with session_factory.begin() as session:
        marked = mark_needs_reconnect(
            session=session, n8n_credential_ids=ids, workflow_id=wf.id, now=now
        )
    logger.info("watch: workflow %s needs a reconnect (%d account(s))", wf.id, len(marked))
    if notifier is None or not wf.slack_channel_id:
        return
    notifier.notify(
        ReconnectNeeded(
            Thread(wf.slack_channel_id, wf.slack_thread_ts), wf.name, failure, tuple(marked)
        )
    )


def _failure_of(
    client: N8nClient, execution: dict[str, Any]
) -> tuple[ExecutionFailure, dict[str, Any] | None]:
    """The failure, and the execution with its data (None when n8n would not give it)."""
    execution_id = str(execution.get("id"))
    try:
        detailed = client.get_execution(execution_id, include_data=True)
    except N8nError as e:
        return ExecutionFailure(execution_id, None, f"(details unavailable: {e})", "error"), None
    failure = execution_failure(detailed) or ExecutionFailure(
        execution_id, None, "execution failed", str(execution.get("status"))
    )
    return failure, detailed


def failure_picture(
    wf: WatchedWorkflow, failure: ExecutionFailure, execution: Mapping[str, Any]
) -> Picture | None:
    """The picture of the version that ran (n8n's `workflowData`) marking what the execution did
    to each node: ran, failed (with n8n's short message), not reached. None when n8n did not say
    what ran or drawing failed (logged): the text message then goes alone."""
    # Pillow and the layout load when a failure is drawn, not with every scheduler process.
    from core.graph import NodeMark, execution_marks, layout_workflow, render_png

    ran = execution.get("workflowData")
    if not isinstance(ran, Mapping) or not ran.get("nodes"):
        logger.info(
            "watch: execution %s came without its workflow; no picture", failure.execution_id
        )
        return None
    try:
        marks = execution_marks(ran, execution)
        layout = layout_workflow(
            ran, marks=marks, title=f"{wf.name} · execution {failure.execution_id}"
        )
        png = render_png(layout)
    except Exception:
        logger.warning("watch: cannot draw execution %s", failure.execution_id, exc_info=True)
        return None
    said = [f"{wf.name}: {marks.caption}"]
    for mark in (NodeMark.failed, NodeMark.ran, NodeMark.not_reached):
        names = [
            f"{name} ({marks.messages[name]})" if name in marks.messages else name
            for name, m in marks.nodes.items()
            if m == mark
        ]
        if names:
            said.append(f"{mark}: {', '.join(names)}")
    return Picture(
        png=png,
        filename=f"workflow-{wf.id}-execution-{failure.execution_id}.png",
        title=" ".join(layout.title),
        alt_text=". ".join(said),
    )


def _report_and_repair(
    wf: WatchedWorkflow,
    failure: ExecutionFailure,
    execution: Mapping[str, Any] | None,
    *,
    notifier: Notifier | None,
    repair: RepairStarter | None,
) -> None:
    next_step: str | None
    if repair is None:
        next_step = "Automatic repair is not available here; the error is logged for review."
    else:
        try:
            next_step = repair(workflow_id=wf.id, failure=failure)
        except Exception as e:
            logger.exception("watch: repair of workflow %s could not start", wf.id)
            next_step = f"Automatic repair could not start: {str(e)[:300]}"
    if next_step is None:
        return
    if notifier is not None and wf.slack_channel_id:
        notifier.notify(
            ExecutionFailed(
                Thread(wf.slack_channel_id, wf.slack_thread_ts),
                wf.name,
                failure,
                next_step,
                picture=failure_picture(wf, failure, execution) if execution is not None else None,
            )
        )
