"""The scheduled jobs. Each job has two layers:

- a domain function with explicit, keyword-only dependencies (`smoke_test`, `reset_quotas`,
  `watch_executions`, `recover_runs`), called by tests and by the CLI;
- a module-level `*_job()` callable that APScheduler fires (the job store pickles a reference to
  it): it reads this process's `SchedulerContext` and runs the domain function once per tick
  across replicas (`run_once_per_tick`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from core import quotas
from core.models import PipelineRun, ProcessedAction, Workflow, WorkflowVersion
from core.n8n import ExecutionFailure, N8nClient, N8nError, execution_failure
from core.safety import escape_mrkdwn
from core.scheduler import (
    EXECUTION_WATCH,
    PRUNE_ACTIONS,
    QUOTA_RESET,
    RUN_RECOVERY,
    SMOKE_TEST,
    TEST_COPY_SWEEP,
)
from core.scheduler.locks import TickResult, run_once_per_tick
from core.scheduler.notify import Notifier
from core.scheduler.runner import SchedulerContext, current_context, current_fire_time
from core.scheduler.smoke import (
    SmokeOutcome,
    format_smoke_message,
    local_smoke_endpoints,
    record_smoke_result,
    run_smoke_test,
)
from core.settings import Settings
from core.vocabulary import RunState, WorkflowStatus

if TYPE_CHECKING:
    from core.pipeline import PipelineServices, RunOutcome

logger = logging.getLogger(__name__)

FINISHED = frozenset({"success", "error", "crashed", "canceled"})
FAILED = frozenset({"error", "crashed"})
# At most this many executions are read per workflow and watch (a workflow firing every
# second must not turn one watch into thousands of requests); older ones are only counted.
MAX_EXECUTIONS_PER_WATCH = 250


# --- smoke test -------------------------------------------------------------------------------


def smoke_test(
    *,
    client: N8nClient,
    session_factory: sessionmaker[Session] | None,
    notifier: Notifier | None,
    ops_channel: str | None,
    feed_url: str | None = None,
    slack_webhook_url: str | None = None,
    timeout_s: float = 60.0,
) -> SmokeOutcome:
    """Run the smoke test once; record it (if a database is given) and post it to the ops
    channel (if a notifier and channel are given). Without a feed or webhook URL it serves its
    own on 127.0.0.1 (n8n on this host reaches them)."""
    with contextlib.ExitStack() as stack:
        if not feed_url or not slack_webhook_url:
            local = stack.enter_context(local_smoke_endpoints())
            feed_url = feed_url or local.feed_url
            slack_webhook_url = slack_webhook_url or local.webhook_url
        outcome = run_smoke_test(
            client=client,
            feed_url=feed_url,
            slack_webhook_url=slack_webhook_url,
            timeout_s=timeout_s,
        )
    if session_factory is not None:
        with session_factory.begin() as session:
            record_smoke_result(session=session, outcome=outcome)
    if notifier is not None and ops_channel:
        notifier.post(ops_channel, format_smoke_message(outcome))
    log = logger.info if outcome.ok else logger.error
    log("%s", format_smoke_message(outcome))
    return outcome


# --- quota reset ------------------------------------------------------------------------------


def reset_quotas(*, session_factory: sessionmaker[Session], now: dt.datetime) -> dict[str, Any]:
    """The daily quota reset for the UTC day of `now` (idempotent)."""
    day = quotas.utc_day(now)
    with session_factory.begin() as session:
        pruned = quotas.reset_day(session=session, day=day)
    logger.info("quota reset for %s: pruned %d old usage rows", day, pruned)
    return {"day": day.isoformat(), "pruned": pruned}


# --- processed actions ------------------------------------------------------------------------

# Idempotency keys (Slack event ids, clicks, deploy/rollback keys) only have to outlive retries:
# Slack's come within minutes, an API client's within hours. After this a key may run again.
KEEP_PROCESSED_ACTIONS = dt.timedelta(days=7)


def prune_processed_actions(
    *, session_factory: sessionmaker[Session], now: dt.datetime
) -> dict[str, Any]:
    """Delete the `processed_actions` rows older than KEEP_PROCESSED_ACTIONS; says how many."""
    with session_factory.begin() as session:
        result = session.execute(
            delete(ProcessedAction).where(ProcessedAction.created_at < now - KEEP_PROCESSED_ACTIONS)
        )
    pruned = int(getattr(result, "rowcount", 0) or 0)
    logger.info("pruned %d processed actions older than %s", pruned, KEEP_PROCESSED_ACTIONS)
    return {"pruned": pruned}


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


def failure_notice(name: str, failure: ExecutionFailure, next_step: str) -> str:
    """The thread message about a runtime error and what became of it (n8n's and the repair's
    text escaped for Slack mrkdwn: both can quote what the workflow or the model produced)."""
    where = f" at node “{escape_mrkdwn(failure.node)}”" if failure.node else ""
    return (
        f":warning: “{escape_mrkdwn(name)}” failed in n8n{where} "
        f"(execution {failure.execution_id}): {escape_mrkdwn(failure.message[:500])}\n"
        f"{escape_mrkdwn(next_step[:1500])}"
    )


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
        newest = new[0]
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
        if not getattr(moved, "rowcount", 0):
            continue  # another watch took these executions
        summary["new"] += len(new)
        failed = [e for e in new if e.get("status") in FAILED]
        if not failed:
            continue
        failure = _failure_of(client, failed[0])
        summary["failed"].append({"workflow_id": wf.id, "execution_id": failure.execution_id})
        _report_and_repair(wf, failure, notifier=notifier, repair=repair)
    return summary


def _failure_of(client: N8nClient, execution: dict[str, Any]) -> ExecutionFailure:
    execution_id = str(execution.get("id"))
    try:
        detailed = client.get_execution(execution_id, include_data=True)
    except N8nError as e:
        return ExecutionFailure(execution_id, None, f"(details unavailable: {e})", "error")
    return execution_failure(detailed) or ExecutionFailure(
        execution_id, None, "execution failed", str(execution.get("status"))
    )


def _report_and_repair(
    wf: WatchedWorkflow,
    failure: ExecutionFailure,
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
        notifier.post(
            wf.slack_channel_id,
            failure_notice(wf.name, failure, next_step),
            thread_ts=wf.slack_thread_ts,
        )


# --- run recovery -----------------------------------------------------------------------------


def recovery_notice(outcome: RunOutcome) -> str:
    """The thread message telling a user what became of their interrupted request."""
    message = escape_mrkdwn((outcome.message or "")[:1500])
    if outcome.state == RunState.succeeded:
        head = "Your request was interrupted by a restart; I picked it up again and finished it."
    elif outcome.state == RunState.failed:
        head = "Your request was interrupted by a restart and could not be finished."
    else:
        head = "Your request was interrupted by a restart; I picked it up again."
    return f":arrows_counterclockwise: {head}\n{message}".rstrip()


def recover_runs(
    *, services: PipelineServices, notifier: Notifier | None, older_than_s: float
) -> dict[str, Any]:
    """Resume (or fail, when that is unsafe) the pipeline runs whose process died mid-way, and
    tell each run's user in its thread. The pipeline claims each run with a compare-and-set on
    its heartbeat, so two recovering replicas never take (or announce) the same run."""
    from core import pipeline

    # A notifier that can show runs (the Slack bot's) keeps each resumed run's own progress
    # message updating and ends it in the run's summary; see notify.RunReporter.
    progress = getattr(notifier, "run_progress", None)
    finished = getattr(notifier, "run_finished", None)
    outcomes = pipeline.resume_incomplete_runs(
        services, older_than_s=older_than_s, progress=progress
    )
    recovered: list[dict[str, Any]] = []
    for outcome in outcomes:
        if finished is not None:
            try:
                finished(outcome)
            except Exception:  # the thread notice below still tells the user
                logger.warning("could not report resumed run %s", outcome.run_id, exc_info=True)
        with services.session_factory() as session:
            run = session.get(PipelineRun, outcome.run_id)
            where = (run.slack_channel_id, run.slack_thread_ts) if run else (None, None)
        recovered.append({"run_id": outcome.run_id, "state": str(outcome.state)})
        if notifier is not None and where[0]:
            notifier.post(where[0], recovery_notice(outcome), thread_ts=where[1])
    if recovered:
        logger.info("run recovery: %s", recovered)
    return {"recovered": recovered}


def pipeline_services(
    settings: Settings, session_factory: sessionmaker[Session]
) -> PipelineServices:
    """Pipeline services for a scheduler process that was given none (`clixen scheduler run`,
    or `clixen serve` without an LLM): n8n from settings, the LLM only if configured (runs that
    need it are then failed with an explanation), our own validation without the MCP server."""
    from core.pipeline import build_services

    return build_services(
        settings,
        session_factory=session_factory,
        n8n=N8nClient.from_settings(settings),
        require_llm=False,
        with_mcp=False,
        with_templates=False,
    )


def _services(ctx: SchedulerContext) -> PipelineServices:
    if ctx.services is None:
        ctx.services = pipeline_services(ctx.settings, ctx.session_factory)
    services: PipelineServices = ctx.services
    return services


# --- the functions APScheduler fires ----------------------------------------------------------


@contextlib.contextmanager
def _n8n_client(settings: Settings) -> Iterator[N8nClient]:
    client = N8nClient.from_settings(settings)
    try:
        yield client
    finally:
        client.close()


def _fire(
    job: str, body: Callable[[SchedulerContext, dt.datetime], dict[str, Any]]
) -> TickResult | None:
    ctx = current_context()
    schedule = ctx.schedules.get(job)
    if schedule is None:
        logger.warning("job %s fired in a process that does not run it; skipped", job)
        return None
    fire_time = current_fire_time() or ctx.clock()
    tick = schedule.tick_for(fire_time)
    result = run_once_per_tick(
        session_factory=ctx.session_factory,
        job=job,
        tick=tick,
        body=lambda: body(ctx, fire_time),
        runner=ctx.runner,
    )
    if result.ran:
        logger.info("job %s tick %s ran (ok=%s)", job, tick, result.ok)
    return result


def _smoke_body(ctx: SchedulerContext, fire_time: dt.datetime) -> dict[str, Any]:
    settings = ctx.settings
    with _n8n_client(ctx.settings) as client:
        outcome = smoke_test(
            client=client,
            session_factory=ctx.session_factory,
            notifier=ctx.notifier,
            ops_channel=ctx.settings.ops_channel,
            feed_url=settings.smoke_feed_url,
            slack_webhook_url=settings.smoke_slack_webhook_url,
            timeout_s=settings.smoke_timeout_s,
        )
    return outcome.summary()


def _watch_body(ctx: SchedulerContext, fire_time: dt.datetime) -> dict[str, Any]:
    with _n8n_client(ctx.settings) as client:
        return watch_executions(
            session_factory=ctx.session_factory,
            client=client,
            notifier=ctx.notifier,
            repair=_pipeline_repair(ctx),
            now=ctx.clock(),
            window_h=ctx.settings.watch_window_h,
        )


def _pipeline_repair(ctx: SchedulerContext) -> RepairStarter:
    """The pipeline's repair entry for a runtime error, bound to this process's services."""
    from core.pipeline import repair_after_runtime_error

    services = _services(ctx)

    def repair(*, workflow_id: int, failure: ExecutionFailure) -> str | None:
        return repair_after_runtime_error(services, workflow_id=workflow_id, failure=failure)

    return repair


def _recovery_body(ctx: SchedulerContext, fire_time: dt.datetime) -> dict[str, Any]:
    if not (ctx.settings.n8n_url and ctx.settings.n8n_api_key):
        return {"skipped": "n8n is not configured"}
    return recover_runs(
        services=_services(ctx), notifier=ctx.notifier, older_than_s=ctx.settings.recovery_stale_s
    )


def smoke_test_job() -> None:
    _fire(SMOKE_TEST, _smoke_body)


def quota_reset_job() -> None:
    _fire(QUOTA_RESET, _quota_body)


def _quota_body(ctx: SchedulerContext, fire_time: dt.datetime) -> dict[str, Any]:
    # The day of the scheduled fire time: a run delayed past the next midnight resets its own day.
    return reset_quotas(session_factory=ctx.session_factory, now=fire_time)


def prune_processed_actions_job() -> None:
    _fire(
        PRUNE_ACTIONS,
        lambda ctx, fire_time: prune_processed_actions(
            session_factory=ctx.session_factory, now=fire_time
        ),
    )


def _sweep_body(ctx: SchedulerContext, fire_time: dt.datetime) -> dict[str, Any]:
    from core.testing import sweep_test_copies

    with _n8n_client(ctx.settings) as client:
        return {"deleted": sweep_test_copies(client)}


def sweep_test_copies_job() -> None:
    """Delete test copies (`core.testing`) that a killed process left in n8n."""
    _fire(TEST_COPY_SWEEP, _sweep_body)


def execution_watch_job() -> None:
    _fire(EXECUTION_WATCH, _watch_body)


def run_recovery_job() -> None:
    _fire(RUN_RECOVERY, _recovery_body)


def run_recovery_at_start_job() -> None:
    """Run recovery once when a process starts (its own tick per process, same lock)."""
    ctx = current_context()
    if RUN_RECOVERY not in ctx.schedules:
        return
    now = ctx.clock()
    run_once_per_tick(
        session_factory=ctx.session_factory,
        job=RUN_RECOVERY,
        tick=f"start:{os.getpid()}:{now.timestamp():.3f}",
        body=lambda: _recovery_body(ctx, now),
        runner=ctx.runner,
    )
