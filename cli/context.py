"""What every CLI command needs: who acts (workspace `local`, user `cli:$USER`), the database and
n8n, all from settings. Nothing connects at import time, and importing this module is cheap: each
function loads settings, SQLAlchemy or the n8n client when a command calls it, not when
`clixen --help` registers the commands that use it."""

from __future__ import annotations

import getpass
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.kernel.errors import InvalidInput, SettingsError

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker

    from core.n8n import N8nClient
    from core.workspace.projects import Actor

CLI_TEAM_ID = "local"


def cli_actor() -> Actor:
    """The actor for this terminal; CLIXEN_CLI_USER overrides the login name."""
    from core.workspace.projects import Actor

    name = os.environ.get("CLIXEN_CLI_USER") or _login_name()
    return Actor(team_id=CLI_TEAM_ID, user_id=f"cli:{name}"[:64])


def _login_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


@contextmanager
def cli_session_factory() -> Iterator[sessionmaker[Session]]:
    """Sessions on DATABASE_URL for the duration of one command."""
    from core.kernel.db import make_engine, make_session_factory
    from core.kernel.settings import get_settings

    settings = get_settings()
    settings.require("DATABASE_URL")
    engine = make_engine(settings.database_url)
    try:
        _ensure_schema(engine, settings.database_url)
        yield make_session_factory(engine)
    finally:
        engine.dispose()


def _ensure_schema(engine: Engine, url: str) -> None:
    """A database with no schema yet: the embedded default is set up on the spot (it is the
    product's own file); any other is left to its owner, with the command to run."""
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from core.kernel import db
    from core.kernel.settings import DEFAULT_SQLITE_PATH

    try:
        with engine.connect() as conn:
            if conn.execute(text("SELECT version_num FROM alembic_version")).scalar():
                return
    except DBAPIError:
        pass  # no alembic_version table: never migrated
    if url == f"sqlite:///{DEFAULT_SQLITE_PATH}":
        print(f"setting up the embedded database {DEFAULT_SQLITE_PATH} ...", file=sys.stderr)
        db.upgrade(url)
        return
    raise SettingsError(
        ["DATABASE_URL points at a database without Clixen's tables: run `clixen db upgrade`."]
    )


@contextmanager
def cli_n8n() -> Iterator[N8nClient]:
    """The n8n client from N8N_URL / N8N_API_KEY (a clear message names whichever is missing)."""
    from core.kernel.settings import get_settings
    from core.n8n import N8nClient

    with N8nClient.from_settings(get_settings()) as client:
        yield client


def read_workflow_file(path: Path) -> dict[str, Any]:
    """The workflow JSON in `path`, fit to deploy (the validator then reports what is wrong
    inside it), or InvalidInput saying what is wrong with the file (unreadable, not JSON, not
    one workflow object, too large)."""
    from core.kernel.safety import sanitize_workflow_json

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise InvalidInput(f"Cannot read {path}: {e.strerror}") from e
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise InvalidInput(f"{path} is not JSON: {e}") from e
    if not isinstance(data, dict):
        raise InvalidInput(f"{path} must hold one workflow object.")
    try:
        clean = sanitize_workflow_json(data)
    except InvalidInput as e:
        raise InvalidInput(f"{path}: {e}") from e
    return clean


def read_runnable_workflow(path: Path) -> dict[str, Any]:
    """`read_workflow_file`, and its nodes and connections shaped well enough to draw or run."""
    clean = read_workflow_file(path)
    nodes = clean.get("nodes")
    if not isinstance(nodes, list) or not all(
        isinstance(n, dict) and isinstance(n.get("name"), str) and isinstance(n.get("type"), str)
        for n in nodes
    ):
        raise InvalidInput(
            f'{path}: "nodes" must be a list of node objects, each with a "name" and a "type" '
            f"(check it with: clixen validate --json {path})."
        )
    if not isinstance(clean.get("connections", {}), dict):
        raise InvalidInput(f'{path}: "connections" must be an object keyed by node name.')
    return clean
