"""Every revision has a working downgrade: upgrade → base → upgrade on a real Postgres."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.orm import sessionmaker

from core.kernel import db
from core.kernel.models import Base
from core.triggers import secret_of


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


PLAIN_SECRET = "plain-webhook-secret-from-before-0123456789"


@pytest.mark.parametrize("dialect", ["postgres", "sqlite"])
def test_webhook_secrets_stored_in_plain_text_are_sealed_and_the_downgrade_opens_them(
    dialect: str, fresh_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = fresh_database_url if dialect == "postgres" else f"sqlite:///{tmp_path / 'c.sqlite3'}"
    monkeypatch.setenv("CLIXEN_SECRET_KEY", "migration-key-0123456789abcdef")
    from alembic.script import ScriptDirectory

    sealed = ScriptDirectory.from_config(db.alembic_config(url)).get_revision(
        "harden2_trigger_secret_sealed"
    )
    before = str(sealed.down_revision)  # where trigger_endpoints.secret is plain text
    db.upgrade(url, before)
    engine = db.make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO projects (id, team_id, name, created_by) "
                    "VALUES (7, 'T1', 'main', 'U1')"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO workflows (id, project_id, name, created_by, status, "
                    "head_version) VALUES (41, 7, 'tickets', 'U1', 'active', 1)"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO trigger_endpoints (workflow_id, path, secret, n8n_credential_id)"
                    " VALUES (41, 'clixen-p', :s, '9')"
                ),
                {"s": PLAIN_SECRET},
            )
        db.upgrade(url)
        with sessionmaker(engine)() as s:
            (stored,) = s.execute(text("SELECT * FROM trigger_endpoints")).all()
            assert PLAIN_SECRET not in repr(stored)
            assert PLAIN_SECRET.encode() not in b"".join(
                bytes(v) for v in stored if isinstance(v, bytes | memoryview)
            )
            key = "migration-key-0123456789abcdef"
            assert secret_of(s, workflow_id=41, key=key) == PLAIN_SECRET
        db.downgrade(url, before)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT secret FROM trigger_endpoints")).scalar() == (
                PLAIN_SECRET
            )
        # Without the key, rows that need it are refused with what to do.
        monkeypatch.delenv("CLIXEN_SECRET_KEY")
        with pytest.raises(RuntimeError, match="CLIXEN_SECRET_KEY is not set"):
            db.upgrade(url)
    finally:
        engine.dispose()
