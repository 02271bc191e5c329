"""Who may drive a run: its claim, an owner id (`PipelineRun.owner_pid`) and a lease
(`PipelineRun.lease_until`) that the holder renews while it is alive.

- `start_run` (and `answer_question`, a watch repair) store a run claimed by the process that
  made it, owner `services.owner` ("host:pid"); `RunClaims` renews that lease while the run waits
  for a free worker, so recovery does not mistake a queued run for a crashed one.
- A worker takes the claim before it drives the run (`take`): one conditional UPDATE that
  succeeds only when the run is in progress and its claim is free, expired, or the queued claim
  of this very process; the worker's owner id is unique ("host:pid/<id>"), so no second worker,
  in this process or another, can take it while the lease lives.
- Recovery takes only claims whose lease ran out (`take` with `expired_only`), and rows from
  before leases existed whose heartbeat is older than its threshold.
- Every save of the run checks the claim is still the worker's (`ActiveRun.save`): a worker whose
  lease lapsed and was taken over stops instead of writing over the new holder.

Contract: a claim is renewed only by the process that holds it (its `RunClaims` heartbeat), and
released (lease set to now) when its worker stops, so recovery can take a run at once if its
worker stopped while it was still in progress. A stopping process releases every claim it still
holds (`RunClaims.release_all`), queued runs included.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy import ColumnElement, and_, func, or_, update
from sqlalchemy.orm import Session, sessionmaker

from core.kernel.models import PipelineRun
from core.kernel.vocabulary import IN_PROGRESS

logger = logging.getLogger(__name__)


class ClaimServices(Protocol):
    """What claims use of the pipeline's services (`core.pipeline.types.PipelineServices`)."""

    @property
    def session_factory(self) -> sessionmaker[Session]: ...
    @property
    def clock(self) -> Callable[[], dt.datetime]: ...
    @property
    def lease_s(self) -> float: ...
    @property
    def heartbeat_s(self) -> float: ...
    @property
    def owner(self) -> str: ...
    @property
    def claims(self) -> RunClaims: ...


# `owner_pid` holds at most 64 characters: "<owner>/<8 hex>".
_OWNER_CHARS = 64 - 9


def lease_end(services: ClaimServices) -> dt.datetime:
    """When a claim taken or renewed now runs out."""
    return services.clock() + dt.timedelta(seconds=services.lease_s)


def hold_here(services: ClaimServices, run: PipelineRun) -> None:
    """Claim `run` (a new row or one loaded in the caller's transaction) for this process, which
    queues or drives it next: owner `services.owner`, a fresh lease and heartbeat."""
    run.owner_pid = services.owner
    run.lease_until = lease_end(services)
    run.heartbeat_at = services.clock()


def worker_id(services: ClaimServices) -> str:
    """A new owner id for one worker driving one run (unique, within `owner_pid`'s 64 chars)."""
    return f"{services.owner[:_OWNER_CHARS]}/{secrets.token_hex(4)}"


def expired(now: dt.datetime, stale_before: dt.datetime | None = None) -> ColumnElement[bool]:
    """Claims nobody holds any more: a lease that ran out, or (rows from before leases existed)
    no lease and a heartbeat older than `stale_before`."""
    cases: list[ColumnElement[bool]] = [PipelineRun.lease_until < now]
    if stale_before is not None:
        cases.append(
            and_(
                PipelineRun.lease_until.is_(None),
                func.coalesce(PipelineRun.heartbeat_at, PipelineRun.updated_at) < stale_before,
            )
        )
    return or_(*cases)


def take(
    services: ClaimServices,
    run_id: int,
    *,
    expired_only: bool = False,
    stale_before: dt.datetime | None = None,
) -> PipelineRun | None:
    """Claim run `run_id` for one worker of this process: the run as claimed (detached; its
    `owner_pid` is the worker's owner id), or None when someone else holds the claim (or the
    run is not in progress). The row comes back from the claiming UPDATE itself, so the worker
    starts from the run as it was when the claim became its own, without reading it again.

    Without `expired_only`, the queued claim of this process (owner `services.owner`) is taken
    over by its worker, and so is a run nobody ever claimed; recovery passes `expired_only` so
    it never takes a run queued here.
    """
    now = services.clock()
    free = expired(now, stale_before)
    if not expired_only:
        unclaimed = and_(PipelineRun.owner_pid.is_(None), PipelineRun.lease_until.is_(None))
        free = or_(free, PipelineRun.owner_pid == services.owner, unclaimed)
    owner = worker_id(services)
    with services.session_factory.begin() as session:
        run = session.scalars(
            update(PipelineRun)
            .where(PipelineRun.id == run_id, PipelineRun.state.in_(IN_PROGRESS), free)
            .values(owner_pid=owner, lease_until=lease_end(services), heartbeat_at=now)
            .returning(PipelineRun)
            .execution_options(synchronize_session=False)
        ).one_or_none()
        if run is None:
            return None
        session.expunge(run)
    services.claims.hold(services, run_id, owner)
    return run


def release(services: ClaimServices, run_id: int, owner: str) -> None:
    """The worker `owner` stops driving the run: stop renewing it and end its lease now (so if
    the run is still in progress, recovery may take it at once)."""
    services.claims.drop(run_id, owner)
    try:
        with services.session_factory.begin() as session:
            session.execute(
                update(PipelineRun)
                .where(PipelineRun.id == run_id, PipelineRun.owner_pid == owner)
                .values(lease_until=services.clock())
                .execution_options(synchronize_session=False)
            )
    except Exception:  # the lease then simply runs out
        logger.warning("could not release the claim of run %s", run_id, exc_info=True)


@dataclass
class _Held:
    owner: str
    services: ClaimServices
    due: float  # time.monotonic() of the next renewal


@dataclass
class RunClaims:
    """The claims this process holds, and the one heartbeat thread that renews their leases
    (every `heartbeat_s` of the services that took each claim). The thread runs while there is
    something to renew; a claim that is gone (taken over, the run finished) is dropped."""

    _held: dict[int, _Held] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _wake: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def hold(self, services: ClaimServices, run_id: int, owner: str) -> None:
        """Renew run `run_id`'s lease for `owner` from now on."""
        with self._lock:
            due = time.monotonic() + services.heartbeat_s
            self._held[run_id] = _Held(owner=owner, services=services, due=due)
            self._wake.set()
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._beat, name="pipeline-claims-heartbeat", daemon=True
                )
                self._thread.start()

    def drop(self, run_id: int, owner: str) -> None:
        """Stop renewing run `run_id` (if `owner` still holds it here)."""
        with self._lock:
            held = self._held.get(run_id)
            if held is not None and held.owner == owner:
                del self._held[run_id]

    def release_all(self) -> list[int]:
        """Stop renewing every claim held here and end each lease now, so another process's
        recovery may take the runs at once; the ids of the runs released (this process is
        stopping: a worker still in a step past that finds its claim gone at its next save)."""
        with self._lock:
            held, self._held = self._held, {}
        released = []
        for run_id, h in held.items():
            try:
                with h.services.session_factory.begin() as session:
                    session.execute(
                        update(PipelineRun)
                        .where(PipelineRun.id == run_id, PipelineRun.owner_pid == h.owner)
                        .values(lease_until=h.services.clock())
                        .execution_options(synchronize_session=False)
                    )
                released.append(run_id)
            except Exception:  # that lease then simply runs out
                logger.warning("could not release the claim of run %s", run_id, exc_info=True)
        return released

    def holds(self, run_id: int) -> str | None:
        """The owner id this process renews run `run_id` for, if any."""
        with self._lock:
            held = self._held.get(run_id)
            return held.owner if held else None

    def _beat(self) -> None:
        while True:
            with self._lock:
                if not self._held:
                    self._thread = None
                    return
                now = time.monotonic()
                due = [(run_id, h) for run_id, h in self._held.items() if h.due <= now]
                next_due = min(h.due for h in self._held.values())
                self._wake.clear()
            if not due:
                self._wake.wait(max(0.0, next_due - now))
                continue
            for run_id, held in due:
                alive = self._renew(held.services, run_id, held.owner)
                with self._lock:
                    if self._held.get(run_id) is not held:
                        continue  # dropped or held anew meanwhile
                    if alive:
                        held.due = time.monotonic() + held.services.heartbeat_s
                    else:
                        del self._held[run_id]

    @staticmethod
    def _renew(services: ClaimServices, run_id: int, owner: str) -> bool:
        """Extend the lease; False when the claim is gone (taken over, or the run ended)."""
        try:
            with services.session_factory.begin() as session:
                result = session.execute(
                    update(PipelineRun)
                    .where(
                        PipelineRun.id == run_id,
                        PipelineRun.owner_pid == owner,
                        PipelineRun.state.in_(IN_PROGRESS),
                    )
                    .values(lease_until=lease_end(services), heartbeat_at=services.clock())
                    .execution_options(synchronize_session=False)
                )
                return bool(getattr(result, "rowcount", 0))
        except Exception:  # a missed beat is harmless while the lease lasts; the next one retries
            logger.warning("heartbeat of run %s failed", run_id, exc_info=True)
            return True
