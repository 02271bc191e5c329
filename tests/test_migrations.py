"""Every revision has a working downgrade: upgrade → base → upgrade on a real Postgres."""

from __future__ import annotations

from sqlalchemy import inspect

from core.kernel import db
from core.kernel.models import Base


def _tables(url: str) -> set[str]:
    engine = db.make_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_round_trip_on_postgres(fresh_database_url: str) -> None:
    url = fresh_database_url
    db.upgrade(url)
    assert _tables(url) == set(Base.metadata.tables)
    db.downgrade(url, "base")
    assert _tables(url) == set()
    assert db.current_revision(url) is None
    db.upgrade(url)
    assert _tables(url) == set(Base.metadata.tables)
    assert db.current_revision(url) is not None


def test_round_trip_on_embedded_sqlite(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'clixen.sqlite3'}"
    db.upgrade(url)
    assert _tables(url) == set(Base.metadata.tables)
    db.downgrade(url, "base")
    assert _tables(url) == set()


def test_models_match_migrations(database_url: str) -> None:
    """Autogenerate finds nothing to do: the revisions describe exactly the models."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    engine = db.make_engine(database_url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    finally:
        engine.dispose()
    assert diff == []
