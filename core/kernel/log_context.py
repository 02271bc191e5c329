"""What every log line of a unit of work carries: `run_id`, `workflow_id`, `project`, `team`,
`slack_request`, `job` — bound in a context variable where the work is driven (a run by
`core.pipeline.engine.drive`, a Slack request by the bot's middleware, a scheduled job by
`core.scheduler.locks`), read by both log formats (`core.kernel.logging`).

Context variables do not cross threads by themselves: `ContextThreadPoolExecutor` runs each task
in a copy of the submitter's context, so a Slack request's id follows it from the listener to
the intake thread and on to the run worker.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from types import MappingProxyType
from typing import Any, ParamSpec, TypeVar

# The fields the product binds, in the order log lines show them.
FIELDS = ("run_id", "workflow_id", "project", "team", "slack_request", "job")

_NOTHING: Mapping[str, object] = MappingProxyType({})
_bound: contextvars.ContextVar[Mapping[str, object]] = contextvars.ContextVar(
    "clixen_log_fields", default=_NOTHING
)

P = ParamSpec("P")
T = TypeVar("T")


def bound_fields() -> Mapping[str, object]:
    """The fields bound in this context (None values left out)."""
    return _bound.get()


@contextmanager
def bind(**fields: object) -> Iterator[None]:
    """Add `fields` to every log line written inside the block (None values are skipped; the
    previous fields come back when the block ends)."""
    token = _bound.set(_merged(fields))
    try:
        yield
    finally:
        _bound.reset(token)


def begin(**fields: object) -> None:
    """Bind exactly `fields` from now on in this context, dropping whatever was bound: for a new
    unit of work on a pooled thread whose end has no hook (a Slack request in Bolt's middleware,
    whose `next()` returns before the listener runs)."""
    _bound.set(MappingProxyType({k: v for k, v in fields.items() if v is not None}))


def rebind(**fields: object) -> None:
    """Change bound fields in place (inside a `bind` block, which undoes it at its end): for a
    value learnt while the work goes on, e.g. the workflow a new run creates."""
    _bound.set(_merged(fields))


def _merged(fields: Mapping[str, object]) -> Mapping[str, object]:
    merged = dict(_bound.get())
    merged.update({k: v for k, v in fields.items() if v is not None})
    return merged


class ContextThreadPoolExecutor(ThreadPoolExecutor):
    """A thread pool whose tasks run in a copy of the context they were submitted from, so the
    bound log fields follow the work across threads."""

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        context = contextvars.copy_context()
        call: Callable[..., Any] = context.run
        return super().submit(call, fn, *args, **kwargs)
