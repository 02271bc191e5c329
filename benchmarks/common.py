"""What the benchmarks share: a throwaway migrated Postgres database, its command-line options,
the pipeline on it with the scripted LLM, and percentiles. Importing it makes the repository
importable (`core`, `tests`) when a benchmark runs as `.venv/bin/python benchmarks/<name>.py`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.generation.templates import TemplateLibrary
from core.kernel import db
from core.kernel.settings import Settings
from core.n8n import N8nClient
from core.pipeline import PipelineServices
from core.validation.mcp import McpValidator
from tests.builders import new_project, pipeline_services
from tests.conftest import PG_ADMIN, PG_URL_BASE, create_database, drop_database
from tests.doubles.llm_server import ScriptedLLM, start_llm_server


def add_pg_arguments(parser: argparse.ArgumentParser) -> None:
    """--pg (libpq admin connection) and --pg-url (SQLAlchemy URL without database); defaults
    from CLIXEN_TEST_PG / CLIXEN_TEST_PG_URL, as in the tests."""
    parser.add_argument("--pg", default=PG_ADMIN)
    parser.add_argument("--pg-url", default=PG_URL_BASE)


@contextmanager
def throwaway_database(
    pg: str = PG_ADMIN, pg_url: str = PG_URL_BASE
) -> Iterator[sessionmaker[Session]]:
    """Sessions on a new database migrated to head; the database is dropped afterwards."""
    url = create_database("clixen_bench", admin=pg, url_base=pg_url)
    engine = db.make_engine(url)
    try:
        db.upgrade(url)
        yield db.make_session_factory(engine)
    finally:
        engine.dispose()
        drop_database(url, admin=pg)


@contextmanager
def pipeline_bench(
    args: argparse.Namespace,
    *,
    team_id: str,
    user_id: str,
    deploy_limit: int,
    settings: Settings,
    templates: TemplateLibrary | None = None,
    mcp: McpValidator | None = None,
) -> Iterator[tuple[PipelineServices, ScriptedLLM, int]]:
    """The pipeline on a throwaway database (args.pg, args.pg_url), the real n8n from `settings`
    and the scripted LLM answering instantly over real HTTP; with the LLM and the id of a
    project allowing `deploy_limit` deploys and unlimited tokens a day."""
    llm = ScriptedLLM()
    server, _ = start_llm_server(llm)
    try:
        with throwaway_database(args.pg, args.pg_url) as factory:
            project_id = new_project(
                factory,
                team_id=team_id,
                user_id=user_id,
                name="bench",
                daily_deploy_limit=deploy_limit,
                daily_token_limit=10**9,
            )
            with N8nClient.from_settings(settings) as n8n:
                services = pipeline_services(
                    factory, n8n, llm.url, settings=settings, templates=templates, mcp=mcp
                )
                yield services, llm, project_id
    finally:
        server.shutdown()


def pct(xs: list[float], q: float) -> float:
    """The q-quantile of xs (nearest rank)."""
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(q * (len(xs) - 1)))]
