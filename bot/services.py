"""What the listeners need, built once by the entry point and handed to the Bolt app."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, wait
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from bot.pools import WorkerPool
from core.kernel.errors import LLMNotConfigured, SettingsError
from core.kernel.metrics import RUNS_WAITING
from core.kernel.settings import Settings
from core.n8n import N8nClient
from core.observability.readiness import ReadinessProbe
from core.pipeline import PipelineServices

log = logging.getLogger(__name__)

# Three kinds of threads share this process's one GIL, so each has its own pool and the pools
# that do work after the ack are small: a request's ack() never queues behind that work.
# - Over HTTP the server acknowledges first; its dispatch threads (bot.server.DISPATCH_THREADS) run
#   Bolt and the listeners, which hand off at once (Socket Mode: Bolt's listener threads).
# - Intake threads do what a request needs right after the ack (database, Slack replies, starting
#   a run). Few, because every extra busy thread delays the next ack by a GIL switch interval.
# - Run workers drive pipeline runs and other n8n work that can take seconds (rollback, test
#   runs); they mostly wait on the LLM and n8n. Runs beyond this many wait in the queue; they are
#   durable in the database meanwhile (run recovery resumes them).
DEFAULT_INTAKE_WORKERS = 2
DEFAULT_RUN_WORKERS = 12


@dataclass
class BotServices:
    """The bot's dependencies: settings, the database, the pipeline's services, and the two
    worker pools that do everything after a request was acknowledged.

    `pipeline` is the core pipeline's services object (LLM, n8n, validators); None when the
    process only serves dashboards (`require_pipeline` then says what to set). Built whole by
    `bot.cli.build_bot_services`, never changed after.
    """

    settings: Settings
    session_factory: sessionmaker[Session]
    pipeline: PipelineServices | None = None
    n8n: N8nClient | None = None
    run_workers: int = DEFAULT_RUN_WORKERS
    intake_workers: int = DEFAULT_INTAKE_WORKERS
    # This replica's readiness (core.observability.readiness); None: not checked.
    readiness: ReadinessProbe | None = None
    # Slack triggers' delivery worker and notifier (bot.triggers.SlackTriggers); None: events
    # are still received (enqueued) and wait for a replica that delivers them.
    triggers: Any = None
    # Both pools run each task in its submitter's context: a request's log fields follow it.
    _executor: WorkerPool | None = field(default=None, repr=False)
    _intake: WorkerPool | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _running: set[Future[Any]] = field(default_factory=set, repr=False)

    @property
    def executor(self) -> WorkerPool:
        with self._lock:
            if self._executor is None:
                self._executor = WorkerPool(self.run_workers, thread_name_prefix="clixen-run")
            return self._executor

    @property
    def intake(self) -> WorkerPool:
        with self._lock:
            if self._intake is None:
                self._intake = WorkerPool(self.intake_workers, thread_name_prefix="clixen-intake")
            return self._intake

    def submit(self, fn: Any, *args: Any, **kwargs: Any) -> Future[Any]:
        """Run `fn` on a run worker (a pipeline run); failures are logged. Until a worker
        takes it, it counts in `clixen_runs_waiting_for_worker`."""
        RUNS_WAITING.inc()

        def taken(*args: Any, **kwargs: Any) -> Any:
            RUNS_WAITING.dec()
            return fn(*args, **kwargs)

        try:
            future = self.executor.submit(taken, *args, **kwargs)
        except BaseException:
            RUNS_WAITING.dec()
            raise
        with self._lock:
            self._running.add(future)
        future.add_done_callback(_left_waiting)
        future.add_done_callback(self._done)
        return future

    def _done(self, future: Future[Any]) -> None:
        with self._lock:
            self._running.discard(future)
        if not future.cancelled():
            _log_failure(future)

    def stop(self, grace_s: float) -> bool:
        """Stop gracefully (SIGTERM): workers end after the step in progress and hand their
        runs over, runs not started yet are not started (their claims released), intake work
        finishes; waits up to `grace_s` for the run workers. True when all of them ended."""
        if self.pipeline is not None:
            self.pipeline.stopping.set()
        if self.triggers is not None:
            self.triggers.stop()  # deliveries in flight finish; the rest wait in the database
        if self._intake is not None:
            self._intake.shutdown(wait=True)  # quick work: the database, a Slack reply, a start
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            running = set(self._running)
        _, not_done = wait(running, timeout=grace_s)
        return not not_done

    def after_ack(self, fn: Any, *args: Any, **kwargs: Any) -> Future[Any]:
        """Run `fn` on an intake thread: the work a listener does once it has acknowledged."""
        future = self.intake.submit(fn, *args, **kwargs)
        future.add_done_callback(_log_failure)
        return future

    def require_pipeline(self) -> PipelineServices:
        """The pipeline's services; LLMNotConfigured (saying what to set) when there are none."""
        if self.pipeline is None:
            raise LLMNotConfigured()
        return self.pipeline

    def require_n8n(self) -> N8nClient:
        """The n8n client; SettingsError naming N8N_URL / N8N_API_KEY when there is none."""
        if self.n8n is None:
            raise SettingsError(["N8N_URL and N8N_API_KEY are needed for this."])
        return self.n8n

    def shutdown(self, wait: bool = True) -> None:
        if self.triggers is not None:
            self.triggers.stop()
        # Intake first: it may still hand runs to the run workers.
        for pool in (self._intake, self._executor):
            if pool is not None:
                pool.shutdown(wait=wait)


def _left_waiting(future: Future[Any]) -> None:
    if future.cancelled():  # never taken by a worker (the pool shut down first)
        RUNS_WAITING.dec()


def _log_failure(future: Future[Any]) -> None:
    exc = future.exception()
    if exc is not None:
        log.error("background work failed", exc_info=exc)
