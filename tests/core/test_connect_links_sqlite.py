"""Connect links are single use on SQLite too (the default database), where `SELECT … FOR UPDATE`
is a no-op: two browsers opening one link at the same moment get one consent page between them.
The race is forced at the database edge (both reads happen before either write); n8n is real,
the OAuth2 provider is the local double."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from core.connect import LinkRefused, create_link, open_link
from core.connect.apps import set_oauth_app
from core.kernel import db
from core.kernel.models import ConnectRequest
from core.n8n import N8nClient
from core.n8n.session import N8nUserSession
from tests.builders import new_project
from tests.doubles.oauth_provider import OAuthProvider

TEAM, OWNER = "T1", "U1"
KEY = "k3y-for-sqlite-connect-tests-9a8b"


@pytest.fixture
def sqlite_factory(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    url = f"sqlite:///{tmp_path / 'clixen.sqlite3'}"
    db.upgrade(url)
    engine = db.make_engine(url)
    yield db.make_session_factory(engine)
    engine.dispose()


def test_two_opens_of_one_link_at_once_give_one_consent_page(
    sqlite_factory: sessionmaker[Session], n8n_client: N8nClient, n8n_user: N8nUserSession
) -> None:
    pid = new_project(sqlite_factory, team_id=TEAM, user_id=OWNER)
    with OAuthProvider() as provider:
        with sqlite_factory.begin() as s:
            set_oauth_app(
                session=s, provider="oauth2", client_id=provider.client_id,
                client_secret=provider.client_secret, key=KEY, actor="operator",
                auth_url=f"{provider.base_url}/authorize", token_url=f"{provider.base_url}/token",
                allowed_hosts=["127.0.0.1"],
            )  # fmt: skip
            link = create_link(
                session=s, team_id=TEAM, user_id=OWNER, project_id=pid, service="oauth2",
                public_url="https://clixen.example.test",
            )  # fmt: skip
        state = link.url.split("state=", 1)[1]

        both_read = threading.Barrier(2, timeout=30)
        waited: set[str] = set()

        def after_execute(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            me = threading.current_thread().name
            reads_link = statement.lstrip().startswith("SELECT") and "connect_requests" in statement
            if reads_link and me.startswith("racer") and me not in waited:
                waited.add(me)
                both_read.wait()  # neither writes before both have read the link as unused

        engine = sqlite_factory.kw["bind"]
        event.listen(engine, "after_cursor_execute", after_execute)
        outcomes: list[str] = []

        def open_once() -> None:
            try:
                open_link(
                    session_factory=sqlite_factory, n8n=n8n_client, n8n_session=n8n_user,
                    state=state, key=KEY,
                )  # fmt: skip
                outcomes.append("consent page")
            except LinkRefused as e:
                outcomes.append(str(e))

        threads = [threading.Thread(target=open_once, name=f"racer-{i}") for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        event.remove(engine, "after_cursor_execute", after_execute)
    with sqlite_factory() as s:
        made = [c for (c,) in s.query(ConnectRequest.n8n_credential_id) if c]
    for credential_id in made:
        n8n_client.delete_credential(credential_id)
    assert len(outcomes) == 2 and outcomes.count("consent page") == 1, outcomes
    assert any("already used" in o for o in outcomes), outcomes
