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
    """The actor for this terminal: user `cli:<login name>`; CLIXEN_CLI_USER overrides the
    name (`bob` acts as `cli:bob`; a full id such as `cli:bob` is taken as given)."""
    from core.workspace.projects import Actor

    given = (os.environ.get("CLIXEN_CLI_USER") or "").strip()
    user_id = given if ":" in given else f"cli:{given or _login_name()}"
    if len(user_id) > 64 or any(c.isspace() for c in user_id):
        raise SettingsError(
            [
                f"CLIXEN_CLI_USER: {given[:70]!r} is not a user id "
                "(at most 64 characters, no spaces)."
            ]
        )
    return Actor(team_id=CLI_TEAM_ID, user_id=user_id)


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


# core.kernel.settings.DEFAULT_SQLITE_PATH, known here without loading the settings code
# (tests/cli/test_newcomer_errors_cli.py checks they agree).
EMBEDDED_DATABASE = Path(__file__).resolve().parents[1] / ".stack" / "clixen.sqlite3"


def database_exists() -> bool:
    """False while DATABASE_URL is the embedded default and that file was never created: a
    command that only reads (a dry run) then uses defaults instead of creating it. Nothing
    configured at all is seen without loading the settings; DATABASE_URL set but empty
    configures none (the settings would refuse it), whatever embedded file exists."""
    set_to = os.environ.get("DATABASE_URL")
    if set_to is not None and not set_to.strip():
        return False
    if not (set_to or Path(".env").is_file()):
        return EMBEDDED_DATABASE.exists()
    from core.kernel.settings import DEFAULT_SQLITE_PATH, get_settings

    url = get_settings().database_url
    return url != f"sqlite:///{DEFAULT_SQLITE_PATH}" or DEFAULT_SQLITE_PATH.exists()


@contextmanager
def cli_n8n() -> Iterator[N8nClient]:
    """The n8n client from N8N_URL / N8N_API_KEY (a clear message names whichever is missing)."""
    from core.kernel.settings import get_settings
    from core.n8n import N8nClient

    with N8nClient.from_settings(get_settings()) as client:
        yield client


def read_workflow_file(path: Path, *, max_nodes: int | None = None) -> dict[str, Any]:
    """The workflow JSON in `path`, fit to deploy (the validator then reports what is wrong
    inside it), or InvalidInput saying what is wrong with the file (unreadable, not JSON, not
    one workflow object, too large). `max_nodes`: a reader that only looks (a picture's
    outline) takes more nodes than a deploy would."""
    from core.kernel.safety import MAX_NODES, sanitize_workflow_json

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise InvalidInput(f"Cannot read {path}: {e.strerror}") from e
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise InvalidInput(f"{path} is not JSON: {e}") from e
    if not isinstance(data, dict):
        raise InvalidInput(f"{path} must hold one workflow object.")
    try:
        clean = sanitize_workflow_json(data, max_nodes=max_nodes or MAX_NODES)
    except InvalidInput as e:
        raise InvalidInput(f"{path}: {e}") from e
    return clean


def read_runnable_workflow(path: Path, *, max_nodes: int | None = None) -> dict[str, Any]:
    """`read_workflow_file`, and its nodes and connections shaped well enough to draw or run."""
    clean = read_workflow_file(path, max_nodes=max_nodes)
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
