"""What the benchmarks share: a throwaway migrated Postgres database, its command-line options,
and percentiles. Importing it makes the repository importable (`core`, `tests`) when a benchmark
runs as `.venv/bin/python benchmarks/<name>.py`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core import db
from tests.conftest import PG_ADMIN, PG_URL_BASE, create_database, drop_database


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


def pct(xs: list[float], q: float) -> float:
    """The q-quantile of xs (nearest rank)."""
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(q * (len(xs) - 1)))]
