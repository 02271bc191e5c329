"""The per-workflow deploy lock: deploys of one workflow run one at a time, across processes.

On Postgres an advisory lock held on its own autocommit connection (no transaction stays open
across the n8n calls); on SQLite (one process) a process-local lock."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from core.deploy.errors import DeployBusy

log = logging.getLogger(__name__)

# How long a deploy waits for another deploy of the same workflow to finish.
LOCK_WAIT_S = 60.0
_LOCK_CLASS = 0x434C58  # "CLX": namespace of this module's advisory locks

_local_locks: dict[int, threading.Lock] = {}
_local_locks_guard = threading.Lock()


@contextlib.contextmanager
def workflow_lock(
    session_factory: sessionmaker[Session], workflow_id: int, *, wait_s: float = LOCK_WAIT_S
) -> Iterator[None]:
    """Hold the deploy lock of `workflow_id` for the block; DeployBusy when another holder keeps
    it past `wait_s` (0: one try)."""
    engine = session_factory.kw.get("bind")
    busy = DeployBusy("Another deploy of this workflow is still running; try again in a minute.")
    if not isinstance(engine, Engine) or engine.dialect.name != "postgresql":
        # SQLite runs in one process: a process-local lock serializes deploys there.
        with _local_locks_guard:
            lock = _local_locks.setdefault(workflow_id, threading.Lock())
        if not lock.acquire(timeout=wait_s):
            raise busy
        try:
            yield
        finally:
            lock.release()
        return
    key = {"c": _LOCK_CLASS, "o": workflow_id & 0x7FFFFFFF}
    with engine.connect() as raw:
        conn = raw.execution_options(isolation_level="AUTOCOMMIT")
        deadline = time.monotonic() + wait_s
        while not conn.scalar(text("SELECT pg_try_advisory_lock(:c, :o)"), key):
            if time.monotonic() >= deadline:
                raise busy
            time.sleep(0.05)
        try:
            yield
        finally:
            try:
                conn.execute(text("SELECT pg_advisory_unlock(:c, :o)"), key)
            except DBAPIError as e:
                # The lock's connection died (Postgres restarted, the backend was terminated):
                # the lock went with it, and the deploy it guarded must not fail for that.
                if not e.connection_invalidated:
                    raise
                log.warning("deploy lock of workflow %s: its connection was lost", workflow_id)
