"""Handing runs over between replicas at once: a stopping replica releases its claims and
announces it (`announce_handover`, Postgres NOTIFY on HANDOVER_CHANNEL); every replica that runs
run recovery listens (`HandoverListener`, LISTEN on its own connection) and recovers right away,
instead of at its next recovery tick. On SQLite (one process) there is nobody to tell: both do
nothing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import psycopg
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

logger = logging.getLogger(__name__)

HANDOVER_CHANNEL = "clixen_runs_released"
# How long the listener waits for a notification before it checks whether to stop.
POLL_S = 1.0
# After its connection failed, the listener tries again this much later.
RECONNECT_S = 2.0


def _engine(session_factory: sessionmaker[Session]) -> Engine | None:
    engine = session_factory.kw.get("bind")
    if isinstance(engine, Engine) and engine.dialect.name == "postgresql":
        return engine
    return None


def announce_handover(session_factory: sessionmaker[Session]) -> None:
    """Tell the other replicas that runs were released (best effort: else their next recovery
    tick, or the runs' leases, still get them)."""
    engine = _engine(session_factory)
    if engine is None:
        return
    try:
        with engine.connect() as conn:
            conn.execute(text(f"NOTIFY {HANDOVER_CHANNEL}"))
            conn.commit()
    except Exception:
        logger.warning("could not announce the handover of runs", exc_info=True)


class HandoverListener:
    """A daemon thread that calls `on_handover` each time some replica announces released runs."""

    def __init__(
        self, session_factory: sessionmaker[Session], on_handover: Callable[[], None]
    ) -> None:
        engine = _engine(session_factory)
        self._dsn = (
            engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
            if engine is not None
            else None
        )
        self._on_handover = on_handover
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> HandoverListener:
        if self._dsn is not None:
            self._thread = threading.Thread(
                target=self._listen, name="run-handover-listener", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _listen(self) -> None:
        assert self._dsn is not None
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._dsn, autocommit=True) as conn:
                    conn.execute(f"LISTEN {HANDOVER_CHANNEL}")
                    while not self._stop.is_set():
                        if any(True for _ in conn.notifies(timeout=POLL_S)):
                            self._handover()
            except psycopg.Error:
                logger.warning("handover listener lost its connection; reconnecting")
                self._stop.wait(RECONNECT_S)

    def _handover(self) -> None:
        try:
            self._on_handover()
        except Exception:
            logger.warning("recovering handed-over runs failed", exc_info=True)
