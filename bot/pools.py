"""The bot's thread pools (dispatch, intake, run workers), which can say when their work is done."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import ParamSpec, TypeVar

from core.kernel.log_context import ContextThreadPoolExecutor

P = ParamSpec("P")
T = TypeVar("T")


class WorkerPool(ContextThreadPoolExecutor):
    """A thread pool that counts the work handed to it: `submitted` (ever) and `pending` (not
    finished yet), so a caller can see when everything it was given is done. Each task runs in a
    copy of its submitter's context, so a request's log fields follow it."""

    def __init__(self, max_workers: int, thread_name_prefix: str) -> None:
        super().__init__(max_workers=max_workers, thread_name_prefix=thread_name_prefix)
        self._counts = threading.Lock()
        self.submitted = 0
        self.pending = 0

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        with self._counts:
            self.submitted += 1
            self.pending += 1
        try:
            future = super().submit(fn, *args, **kwargs)
        except BaseException:
            self._finished()
            raise
        future.add_done_callback(self._finished)
        return future

    def _finished(self, _future: object = None) -> None:
        with self._counts:
            self.pending -= 1
