"""One snapshot per step: each step of a run reads its project (node policy, secrets) once, in one
place (`ActiveRun.project`), however many of its moves need them. Observed on the real database
through SQLAlchemy's statement events (nothing of ours is replaced)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from core.kernel.vocabulary import RunState
from core.pipeline import PipelineServices, execute_run, start_run
from tests.core.test_credentials import TEAM, USER, project_id, rss_to_slack, services
from tests.doubles.llm_server import ScriptedLLM
from tests.workflows import answer

__all__ = ["project_id", "services"]  # the fixtures this module borrows

SECRETS = re.compile(r"\bFROM secrets\b")
POLICY = re.compile(r"SELECT projects\.\w+.*node_policy", re.S)


@contextmanager
def reads(engine: Engine) -> Iterator[dict[str, int]]:
    """How many statements read the secrets table and a project's node policy meanwhile."""
    seen = {"secrets": 0, "policy": 0}

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        seen["secrets"] += bool(SECRETS.search(statement))
        seen["policy"] += bool(POLICY.search(statement))

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_each_step_reads_the_projects_policy_and_secrets_once(
    services: PipelineServices,
    project_id: int,
    llm: ScriptedLLM,
    session_factory: sessionmaker[Session],
) -> None:
    llm.script(answer(rss_to_slack()))  # its Slack node needs a credential the project lacks
    created, _ = start_run(
        services, team_id=TEAM, user_id=USER, project_id=project_id,
        request="post new items of https://example.com/feed.xml to #news",
    )  # fmt: skip
    engine = session_factory.kw["bind"]
    with reads(engine) as seen:
        waiting = execute_run(services, created.id)
    assert waiting.state == RunState.awaiting_credentials, waiting.message
    # Two steps read the project: generating (the prompt) and validating (credentials to bind,
    # the gate's policy and secrets' hosts, credential references). Without the snapshot,
    # validating reads the secrets and the policy twice.
    assert seen == {"secrets": 2, "policy": 2}
