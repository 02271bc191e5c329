"""What the listeners need, built once by the entry point and handed to the Bolt app."""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from core.settings import Settings

log = logging.getLogger(__name__)

# Pipeline runs are I/O bound (LLM, n8n); this bounds how many run at once per process. Queued
# runs wait in the executor and are durable in the database meanwhile.
DEFAULT_RUN_WORKERS = 16


@dataclass
class BotServices:
    """The bot's dependencies: settings, the database, the pipeline's services and run workers.

    `pipeline` is the core pipeline's services object (LLM, n8n, validators); None when the
    process only serves dashboards.
    """

    settings: Settings
    session_factory: sessionmaker[Session]
    pipeline: Any = None
    n8n: Any = None
    run_workers: int = DEFAULT_RUN_WORKERS
    _executor: ThreadPoolExecutor | None = field(default=None, repr=False)

    @property
    def executor(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(
                max_workers=self.run_workers, thread_name_prefix="clixen-run"
            )
        return self._executor

    def submit(self, fn: Any, *args: Any, **kwargs: Any) -> Future[Any]:
        """Run `fn` on a run worker after the request was acknowledged; failures are logged."""
        future = self.executor.submit(fn, *args, **kwargs)
        future.add_done_callback(_log_failure)
        return future

    def n8n_base_url(self) -> str | None:
        """Where users open workflows: N8N_PUBLIC_URL, else N8N_URL."""
        return self.settings.n8n_public_url or self.settings.n8n_url

    def shutdown(self, wait: bool = True) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=wait)


def _log_failure(future: Future[Any]) -> None:
    exc = future.exception()
    if exc is not None:
        log.error("background work failed", exc_info=exc)
