"""The scheduled jobs. Each job has two layers:

- a domain function with explicit, keyword-only dependencies (`smoke_test`, `reset_quotas`,
  `watch_executions` in `core.scheduler.watch`, `recover_runs`), called by tests and by the CLI;
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
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

from core import pipeline
from core.connect import finish_connections
from core.connect.leftovers import find_leftovers, remove_leftovers
from core.connect.resume import resume_after_connect
from core.deploy.reconcile import reconcile
from core.kernel.models import PipelineRun, ProcessedAction
from core.kernel.settings import Settings
from core.n8n import ExecutionFailure, N8nClient
from core.n8n.session import N8nUserSession
from core.pipeline import build_services, repair_after_runtime_error
from core.run_now import sweep_test_copies
from core.scheduler import (
    CONNECT_WATCH,
    DIGEST,
    EXECUTION_WATCH,
    PRUNE_ACTIONS,
    QUOTA_RESET,
    RECONCILE,
    RUN_RECOVERY,
    SMOKE_TEST,
    TEST_COPY_SWEEP,
)
from core.scheduler.digest import send_due_digests
from core.scheduler.locks import TickResult, run_once_per_tick
from core.scheduler.notify import (
    AccountConnected,
    DigestReady,
    Notifier,
    ReviewRequested,
    RunRecovered,
    SmokeTestFinished,
    Thread,
)
from core.scheduler.reviews import ReviewRequest, announce_reviews
from core.scheduler.runner import SchedulerContext, current_context, current_fire_time
from core.scheduler.smoke import (
    SmokeOutcome,
    format_smoke_message,
    local_smoke_endpoints,
    record_smoke_result,
    run_smoke_test,
)
from core.scheduler.watch import RepairStarter, watch_executions
from core.workspace import quotas

if TYPE_CHECKING:
    from core.pipeline import PipelineServices

logger = logging.getLogger(__name__)


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
        notifier.notify(SmokeTestFinished(Thread(ops_channel), outcome))
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
    if pruned:  # an INFO line when something happened, not every interval
        logger.info("pruned %d processed actions older than %s", pruned, KEEP_PROCESSED_ACTIONS)
    return {"pruned": pruned}


# --- run recovery -----------------------------------------------------------------------------


def recover_runs(
    *, services: PipelineServices, notifier: Notifier | None, older_than_s: float
) -> dict[str, Any]:
    """Resume (or fail, when that is unsafe) the pipeline runs whose process died mid-way, and
    tell each run's user in its thread. The pipeline claims each run with a compare-and-set on
    its heartbeat, so two recovering replicas never take (or announce) the same run."""
    # The notifier keeps each resumed run's own progress message updating and ends it in the
    # run's summary (the Slack bot's does; the CLI's prints the event below only).
    outcomes = pipeline.resume_incomplete_runs(
        services,
        older_than_s=older_than_s,
        progress=notifier.run_progress if notifier is not None else None,
    )
    recovered: list[dict[str, Any]] = []
    for outcome in outcomes:
        if notifier is not None:
            try:
                notifier.run_finished(outcome)
            except Exception:  # the thread notice below still tells the user
                logger.warning("could not report resumed run %s", outcome.run_id, exc_info=True)
        recovered.append({"run_id": outcome.run_id, "state": str(outcome.state)})
        where = _run_thread(services.session_factory, outcome.run_id)
        if notifier is not None and where is not None:
            notifier.notify(RunRecovered(where, outcome))
    if recovered:
        logger.info("run recovery: %s", recovered)
    return {"recovered": recovered}


def pipeline_services(
    settings: Settings, session_factory: sessionmaker[Session]
) -> PipelineServices:
    """Pipeline services for a scheduler process that was given none (`clixen scheduler run`,
    or `clixen serve` without an LLM): n8n from settings, the LLM only if configured (runs that
    need it are then failed with an explanation), our own validation without the MCP server."""
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
        ready=ctx.readiness.is_ready if ctx.readiness is not None else None,
    )
    if result.ran:
        logger.debug("job %s tick %s ran (ok=%s)", job, tick, result.ok)
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
        watched = watch_executions(
            session_factory=ctx.session_factory,
            client=client,
            notifier=ctx.notifier,
            repair=_pipeline_repair(ctx),
            now=ctx.clock(),
            window_h=ctx.settings.watch_window_h,
        )
        # A repair that waits for review (and any request no front end showed yet, one made
        # on the CLI): its owners are asked now.
        shown = announce_reviews(
            ctx.session_factory,
            n8n=client,
            settings=ctx.settings,
            show=lambda request: ctx.notifier.notify(ReviewRequested(_thread(request), request)),
        )
    return {**watched, "reviews_shown": shown} if shown else watched


def _thread(request: ReviewRequest) -> Thread | None:
    return Thread(request.channel, request.thread_ts) if request.channel else None


def _pipeline_repair(ctx: SchedulerContext) -> RepairStarter:
    """The pipeline's repair entry for a runtime error, bound to this process's services."""
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
    with _n8n_client(ctx.settings) as client:
        deleted = sweep_test_copies(ctx.session_factory, client)
        leftovers = find_leftovers(session_factory=ctx.session_factory, n8n=client, now=ctx.clock())
        return {
            "deleted": deleted,
            "connect_leftovers_deleted": len(remove_leftovers(client, leftovers)),
        }


def sweep_test_copies_job() -> None:
    """Delete what a killed process left in n8n: the recorded test copies
    (`core.run_now.sweep`) and the credentials of half-finished connects
    (`core.connect.leftovers`)."""
    _fire(TEST_COPY_SWEEP, _sweep_body)


def _run_thread(session_factory: sessionmaker[Session], run_id: int) -> Thread | None:
    """Where the run shows itself (None: it was not started from a chat)."""
    with session_factory() as session:
        run = session.get(PipelineRun, run_id)
        if run is None or not run.slack_channel_id:
            return None
        return Thread(run.slack_channel_id, run.slack_thread_ts)


def finish_connects(
    *,
    services: PipelineServices,
    n8n_session: N8nUserSession,
    notifier: Notifier | None,
    key: str,
) -> dict[str, Any]:
    """Bind the accounts whose Connect link n8n completed, say so in the waiting run's thread,
    and resume the run (its progress and outcome reported like a recovered run's)."""
    done = finish_connections(
        session_factory=services.session_factory,
        n8n=services.n8n,
        n8n_session=n8n_session,
        key=key,
    )
    resumed: list[dict[str, Any]] = []
    for connected in done:
        where = (
            _run_thread(services.session_factory, connected.run_id)
            if connected.run_id is not None
            else None
        )
        if notifier is not None and where is not None:
            notifier.notify(AccountConnected(where, connected.account, connected.user_id))
        progress = notifier.run_progress if notifier is not None else None
        for outcome in resume_after_connect(services, connected, progress=progress):
            resumed.append({"run_id": outcome.run_id, "state": str(outcome.state)})
            if notifier is not None:
                notifier.run_finished(outcome)
    return {"connected": len(done), "resumed": resumed}


def _connect_body(ctx: SchedulerContext, fire_time: dt.datetime) -> dict[str, Any]:
    settings = ctx.settings
    if not (settings.n8n_owner_email and settings.n8n_owner_password and settings.secret_key):
        return {"skipped": "N8N_OWNER_EMAIL / N8N_OWNER_PASSWORD / CLIXEN_SECRET_KEY not set"}
    if ctx.n8n_session is None:
        ctx.n8n_session = N8nUserSession.from_settings(settings)  # signs in on first use
    return finish_connects(
        services=_services(ctx),
        n8n_session=ctx.n8n_session,
        notifier=ctx.notifier,
        key=settings.secret_key,
    )


def connect_watch_job() -> None:
    _fire(CONNECT_WATCH, _connect_body)


def _digest_body(ctx: SchedulerContext, fire_time: dt.datetime) -> dict[str, Any]:
    def tell(report: Any) -> None:
        if ctx.notifier is not None:
            ctx.notifier.notify(DigestReady(Thread(report.channel), report))

    settings = ctx.settings
    if settings.n8n_url and settings.n8n_api_key:
        with _n8n_client(settings) as client:
            told = send_due_digests(ctx.session_factory, n8n=client, now=ctx.clock(), tell=tell)
    else:
        told = send_due_digests(ctx.session_factory, n8n=None, now=ctx.clock(), tell=tell)
    return {"digests": told}


def digest_job() -> None:
    """Send each project's opt-in digest that is due (`core.scheduler.digest`)."""
    _fire(DIGEST, _digest_body)


def _reconcile_body(ctx: SchedulerContext, fire_time: dt.datetime) -> dict[str, Any]:
    with _n8n_client(ctx.settings) as client:
        return reconcile(
            session_factory=ctx.session_factory,
            n8n=client,
            now=ctx.clock(),
            grace_s=ctx.settings.reconcile_grace_s,
        )


def reconcile_job() -> None:
    """Remove what interrupted deploys left in n8n and in the product (`core.deploy.reconcile`)."""
    _fire(RECONCILE, _reconcile_body)


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
        ready=ctx.readiness.is_ready if ctx.readiness is not None else None,
    )


def run_recovery_on_handover_job() -> None:
    """Recover the runs another replica just released as it stopped. Outside the job's lock (a
    replica's recovery may be busy driving a run for minutes): each run is taken with one
    conditional UPDATE, so two replicas recovering at once still never take the same run."""
    ctx = current_context()
    if RUN_RECOVERY not in ctx.schedules:
        return
    summary = _recovery_body(ctx, ctx.clock())
    logger.info("run recovery after a handover: %s", summary)
