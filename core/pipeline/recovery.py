"""Recovering runs whose process stopped mid-way (a restart, a crash): `resume_incomplete_runs`
takes each run nobody holds any more and drives it on, or fails it with a message when it cannot
go on.

Contract: a run is taken only when its claim expired (see `claims`): its lease ran out, because
the process that held it (queued in its pool, or driving it) stopped renewing it. A run queued
here or elsewhere and waiting for a free worker keeps a live lease, so it is never mistaken for
a crashed one. Rows from before leases existed count as expired when their heartbeat is older
than `older_than_s`. Each run is taken with one conditional UPDATE, so two recovering processes
never take the same run.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import select

from core.kernel.models import PipelineRun
from core.kernel.vocabulary import IN_PROGRESS, RunState
from core.pipeline import claims
from core.pipeline.active import ActiveRun, fail, outcome
from core.pipeline.engine import drive
from core.pipeline.types import PipelineServices, Progress, RunOutcome

logger = logging.getLogger(__name__)

# The states whose step calls the LLM: a run in one of them cannot go on without it.
_NEEDS_LLM = frozenset({RunState.queued, RunState.generating, RunState.repairing})


def resume_incomplete_runs(
    services: PipelineServices, *, older_than_s: float, progress: Progress | None = None
) -> list[RunOutcome]:
    """Resume (or, when unsafe, fail with a message) the runs nobody holds any more.

    A run qualifies when it is in progress and its claim expired: its lease ran out (or, for a
    row from before leases, its heartbeat is older than `older_than_s`). Runs that need the LLM
    are failed with an explanation when none is configured. Returns the outcome of each run
    taken here, in the order taken.
    """
    now = services.clock()
    stale_before = now - dt.timedelta(seconds=older_than_s)
    with services.session_factory() as session:
        stale = list(
            session.scalars(
                select(PipelineRun.id)
                .where(PipelineRun.state.in_(IN_PROGRESS), claims.expired(now, stale_before))
                .order_by(PipelineRun.id)
            )
        )
    outcomes: list[RunOutcome] = []
    for run_id in stale:
        if services.stopping.is_set():
            break  # a stopping process takes no run over
        run = claims.take(services, run_id, expired_only=True, stale_before=stale_before)
        if run is None:
            continue  # another recovering process took it, or its holder renewed it meanwhile
        owner = run.owner_pid
        assert owner is not None
        logger.info("resuming run %s from state %s", run_id, run.state)
        if run.state in _NEEDS_LLM and services.llm is None:
            active = ActiveRun.of(services, run, progress, owner=owner)
            try:
                fail(
                    active,
                    "This request was interrupted by a restart and cannot continue without the "
                    "AI service. Please ask again.",
                    category="interrupted",
                )
            finally:
                claims.release(services, run_id, owner)
            outcomes.append(outcome(active))
            continue
        outcomes.append(drive(services, run, progress))
    return outcomes
