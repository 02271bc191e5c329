"""Engine, sessions and migrations. One unit of work, one session: `with factory.begin()`.
Every engine made here reports its transactions to `core.kernel.transactions` (the guard of
"no n8n, LLM or Slack call inside an open transaction")."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from core.kernel import transactions
from core.kernel.errors import SettingsError

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


def _track(engine: Engine) -> None:
    """Record, per thread, the transactions this engine's connections have open (see
    `core.kernel.transactions`)."""
    event.listen(engine, "begin", transactions.began)
    event.listen(engine, "commit", transactions.ended)
    event.listen(engine, "rollback", transactions.ended)


def make_engine(url: str, **kwargs: object) -> Engine:
    """An engine for `url`; SQLite files get their folder created and foreign keys enforced."""
    # Bound parameters carry secret values and CLIXEN_SECRET_KEY: keep them out of logs and errors.
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, **kwargs)
        _track(engine)

        @event.listens_for(engine, "connect")
        def _fk_on(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=10000")
            cur.close()

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    if "poolclass" not in kwargs:
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 40)
    engine = create_engine(url, **kwargs)
    _track(engine)
    return engine


def upsert_insert(session: Session) -> Any:
    """The dialect's `insert` construct, which supports ON CONFLICT (Postgres and SQLite only)."""
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return pg_insert
    if name == "sqlite":
        return sqlite_insert
    raise SettingsError([f"DATABASE_URL: Clixen runs on Postgres or SQLite, not {name}"])


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


def alembic_config(url: str) -> Config:
    # Alembic (and Mako) load here, not at the top: only migrations need them, not every query.
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Apply migrations to `url` up to `revision`."""
    from alembic import command  # Alembic loads only for migrations (see `alembic_config`)

    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str = "-1") -> None:
    """Revert migrations on `url` down to `revision` ("base" reverts everything)."""
    from alembic import command  # Alembic loads only for migrations (see `alembic_config`)

    command.downgrade(alembic_config(url), revision)


def current_revision(url: str) -> str | None:
    from alembic.runtime.migration import MigrationContext  # only for migrations, as above

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()
