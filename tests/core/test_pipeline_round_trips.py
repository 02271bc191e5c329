"""What one request costs the database: the statements and the sessions (connection checkouts,
each a ping, a BEGIN and a COMMIT or ROLLBACK more) of a create run from `start_run` to its
outcome, counted through SQLAlchemy's own events on the real database (nothing of ours is
replaced). The pipeline's overhead over the n8n calls it makes is mostly these round trips
(benchmarks/pipeline_overhead.py); the bounds keep a re-read from creeping back in. Counted, never
timed."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from core.pipeline import PipelineServices, execute_run, start_run
from tests.core.test_pipeline import TEAM, USER, project_id, services
from tests.doubles.llm_server import ScriptedLLM
from tests.workflows import answer, schedule_workflow

__all__ = ["project_id", "services"]  # the fixtures this module borrows

# A first deploy of a schedule workflow, no repair, no watch (measured 2026-12-07: 78 statements
# in 25 sessions on main 02f7ba9, before the claim returned its row, the n8n id was read once per
# step, the deploy's bookkeeping was folded and settling tokens read back from its UPDATE).
MAX_STATEMENTS = 70
MAX_SESSIONS = 20


@contextmanager
def round_trips(engine: Engine) -> Iterator[dict[str, int]]:
    """Statements sent and connections checked out of the pool meanwhile."""
    seen = {"statements": 0, "sessions": 0}

    def statement(*_args: object) -> None:
        seen["statements"] += 1

    def checkout(*_args: object) -> None:
        seen["sessions"] += 1

    event.listen(engine, "before_cursor_execute", statement)
    event.listen(engine.pool, "checkout", checkout)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", statement)
        event.remove(engine.pool, "checkout", checkout)


def test_a_create_run_stays_within_its_database_round_trips(
    services: PipelineServices,
    project_id: int,
    llm: ScriptedLLM,
    session_factory: sessionmaker[Session],
) -> None:
    engine = session_factory.kw["bind"]
    # A first run warms what a process does once (catalog, templates, prepared statements).
    llm.script(answer(schedule_workflow()))
    created, _ = start_run(
        services, team_id=TEAM, user_id=USER, project_id=project_id, request="every hour ping"
    )
    assert execute_run(services, created.id).ok

    llm.script(answer(schedule_workflow()))
    with round_trips(engine) as seen:
        created, _ = start_run(
            services, team_id=TEAM, user_id=USER, project_id=project_id, request="every day ping"
        )
        done = execute_run(services, created.id)

    assert done.ok and done.version == 1, done.message
    assert seen["statements"] <= MAX_STATEMENTS, seen
    assert seen["sessions"] <= MAX_SESSIONS, seen
