"""What every CLI command needs: who acts (workspace `local`, user `cli:$USER`), the database and
n8n, all from settings. Nothing connects at import time, and importing this module is cheap: each
function loads settings, SQLAlchemy or the n8n client when a command calls it, not when
`clixen --help` registers the commands that use it."""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from core.errors import NotFound
from core.vocabulary import Role

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from core.models import Project
    from core.n8n import N8nClient
    from core.projects import Actor

CLI_TEAM_ID = "local"


def cli_actor() -> Actor:
    """The actor for this terminal; CLIXEN_CLI_USER overrides the login name."""
    from core.projects import Actor

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
    from core.db import make_engine, make_session_factory
    from core.settings import get_settings

    settings = get_settings()
    settings.require("DATABASE_URL")
    engine = make_engine(settings.database_url)
    try:
        yield make_session_factory(engine)
    finally:
        engine.dispose()


@contextmanager
def cli_n8n() -> Iterator[N8nClient]:
    """The n8n client from N8N_URL / N8N_API_KEY (a clear message names whichever is missing)."""
    from core.n8n import N8nClient
    from core.settings import get_settings

    with N8nClient.from_settings(get_settings()) as client:
        yield client


def project_for(
    *, session: Session, actor: Actor, name: str | None, at_least: Role = Role.viewer
) -> Project:
    """The project named `name`, or the actor's active project; the actor's role in it must be
    at least `at_least` (PermissionDenied otherwise)."""
    from core.projects import default_project, get_project_by_name, require_role

    if name is None:
        project = default_project(session=session, team_id=actor.team_id, user_id=actor.user_id)
    else:
        found = get_project_by_name(session=session, team_id=actor.team_id, name=name)
        if found is None:
            raise NotFound(
                f"There is no project called {name!r}. Create it: clixen project create NAME"
            )
        project = found
    require_role(
        session=session,
        project_id=project.id,
        team_id=actor.team_id,
        user_id=actor.user_id,
        at_least=at_least,
    )
    return project
