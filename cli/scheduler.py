"""`clixen smoke`, `clixen scheduler run`, `clixen jobs`: the scheduler from the command line."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import threading
import time
from typing import TYPE_CHECKING, Any

from core.scheduler import ALL_JOBS

if TYPE_CHECKING:
    from core.kernel.settings import Settings

logger = logging.getLogger(__name__)


def register(sub: Any) -> None:
    smoke: argparse.ArgumentParser = sub.add_parser(
        "smoke",
        help="deploy and run the canonical RSS → Slack workflow once; exit 1 if it fails",
        description=(
            "Deploy the canonical RSS → Slack workflow to N8N_URL, fire it, read its execution "
            "through GET /executions, clean up, print the result. Exit code 0 = passed, 1 = "
            "failed (gate CI and deployments on it). Without a feed / webhook URL "
            "(CLIXEN_SMOKE_FEED_URL, CLIXEN_SMOKE_SLACK_WEBHOOK_URL or the options) it serves its "
            "own on 127.0.0.1, which n8n reaches when it runs on this host."
        ),
    )
    smoke.add_argument("--feed-url", help="RSS feed the workflow reads")
    smoke.add_argument("--webhook-url", help="Slack incoming-webhook URL the workflow posts to")
    smoke.add_argument("--timeout", type=float, help="seconds to wait for the execution")
    smoke.add_argument("--json", action="store_true", help="print the result as JSON")
    smoke.add_argument(
        "--no-record", action="store_true", help="do not store the result in the database"
    )
    smoke.set_defaults(func=_smoke)

    sched: argparse.ArgumentParser = sub.add_parser("scheduler", help="the job scheduler")
    ssub = sched.add_subparsers(dest="scheduler_command", metavar="ACTION")
    ssub.required = True
    run = ssub.add_parser(
        "run",
        help="run the scheduler in the foreground (what `clixen serve` runs in the background)",
    )
    run.add_argument(
        "--jobs",
        help=f"comma-separated jobs to run (default: all configured; known: {', '.join(ALL_JOBS)})",
    )
    run.add_argument(
        "--interval", type=int, help="run every job every N seconds (testing and drills)"
    )
    run.add_argument("--duration", type=float, help="stop after N seconds (default: until killed)")
    run.set_defaults(func=_scheduler_run, service=True)

    jobs = sub.add_parser("jobs", help="recent scheduled job runs")
    jobs.add_argument("--job", choices=ALL_JOBS, help="only this job")
    jobs.add_argument("--limit", type=int, default=20)
    jobs.add_argument("--json", action="store_true", help="print as JSON lines")
    jobs.set_defaults(func=_jobs)


def _smoke(args: argparse.Namespace) -> int:
    from core.kernel.settings import get_settings
    from core.n8n import N8nClient
    from core.scheduler.jobs import smoke_test
    from core.scheduler.smoke import format_smoke_message

    settings = get_settings()
    session_factory = None
    if not args.no_record:
        session_factory = _migrated_session_factory(settings)
    with N8nClient.from_settings(settings) as client:
        outcome = smoke_test(
            client=client,
            session_factory=session_factory,
            notifier=None,
            ops_channel=None,
            feed_url=args.feed_url or settings.smoke_feed_url,
            slack_webhook_url=args.webhook_url or settings.smoke_slack_webhook_url,
            timeout_s=args.timeout or settings.smoke_timeout_s,
        )
    if args.json:
        print(json.dumps(outcome.summary()))
    else:
        print(format_smoke_message(outcome))
    return 0 if outcome.ok else 1


def _migrated_session_factory(settings: Settings) -> Any:
    """Sessions on DATABASE_URL if it is migrated; None (with a note) if not."""
    from sqlalchemy import inspect
    from sqlalchemy.exc import SQLAlchemyError

    from core.kernel import db

    try:
        engine = db.make_engine(settings.database_url)
        if "smoke_results" in inspect(engine).get_table_names():
            return db.make_session_factory(engine)
    except SQLAlchemyError as e:
        logger.warning("database unavailable (%s); the smoke result is not recorded", e)
        return None
    logger.warning("database not migrated (run `clixen db upgrade`); result not recorded")
    return None


def _scheduler_run(args: argparse.Namespace) -> int:
    from cli.notifier import PrintNotifier
    from core.kernel.settings import get_settings
    from core.scheduler.runner import default_jobs, start_scheduler

    settings = get_settings()
    jobs = (
        [j.strip() for j in args.jobs.split(",") if j.strip()]
        if args.jobs
        else default_jobs(settings)
    )
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    scheduler = start_scheduler(
        settings=settings,
        notifier=PrintNotifier(),
        jobs=jobs,
        interval_override_s=args.interval,
    )
    print(f"scheduler running jobs: {', '.join(jobs)}", flush=True)
    deadline = time.monotonic() + args.duration if args.duration else None
    try:
        while not stop.is_set():
            if deadline is not None and time.monotonic() >= deadline:
                break
            stop.wait(0.2)
    finally:
        scheduler.shutdown(wait=True)
    return 0


def _jobs(args: argparse.Namespace) -> int:
    from core.kernel import db
    from core.kernel.settings import get_settings
    from core.usecases.operations import job_runs

    settings = get_settings()
    engine = db.make_engine(settings.database_url)
    rows = job_runs(db.make_session_factory(engine), job=args.job, limit=args.limit)
    for r in rows:
        if args.json:
            print(
                json.dumps(
                    {
                        "job": r.job,
                        "tick": r.tick,
                        "runner": r.runner,
                        "started_at": r.started_at.isoformat(),
                        "finished_at": r.finished_at.isoformat() if r.finished_at else None,
                        "ok": r.ok,
                        "summary": r.summary,
                    }
                )
            )
        else:
            state = "running" if r.ok is None else ("ok" if r.ok else "FAILED")
            print(f"{r.started_at:%Y-%m-%d %H:%M:%S} {r.job:16} {r.tick:26} {state:8} {r.runner}")
    engine.dispose()
    if not rows and not args.json:
        print("no job runs yet")
    return 0
