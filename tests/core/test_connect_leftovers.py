"""Credentials a half-finished connect left in n8n (the process died between writing the link's
credential and recording it, or n8n refused to delete a given-up one) are listed by `clixen
accounts` and removed by `clixen disconnect --leftovers` and the scheduler's sweep; a credential
this database uses, a link still open and a fresh one are never taken. Real Postgres and n8n."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from core.connect.links import LINK_TTL
from core.kernel.models import ConnectRequest
from core.n8n import N8nClient
from core.usecases.accounts import connect_leftovers
from core.workspace.projects import Actor, create_project
from tests.conftest import N8nStack

TEAM = "T1"
EDITOR = Actor(TEAM, "U-ed")
GMAIL = "gmailOAuth2"


@pytest.fixture
def client(n8n: N8nStack) -> Iterator[N8nClient]:
    with N8nClient(n8n.url, n8n.api_key) as c:
        yield c


def _credential(client: N8nClient, name: str, created: list[str]) -> str:
    cred = client.create_credential(
        name=name, type=GMAIL, data={"clientId": "id", "clientSecret": "client-secret"}
    )
    created.append(str(cred["id"]))
    return str(cred["id"])


def _exists(client: N8nClient, credential_id: str) -> bool:
    return any(c.get("id") == credential_id for c in client.iter_credentials())


def test_a_credential_left_by_a_connect_that_never_completed_is_listed_then_removed(
    session_factory: sessionmaker[Session], client: N8nClient
) -> None:
    now = dt.datetime.now(dt.UTC)
    with session_factory.begin() as s:
        project = create_project(session=s, team_id=TEAM, name="main", creator_user_id="U-ed")
        other = create_project(session=s, team_id=TEAM, name="other", creator_user_id="U-ed")
        pid, other_id = project.id, other.id
        # Opened, then the process died before it recorded its credential.
        s.add(
            ConnectRequest(
                state_hash="a" * 64, team_id=TEAM, user_id="U-ed", project_id=pid,
                service="gmail", credential_type=GMAIL, expires_at=now,
                opened_at=now - dt.timedelta(seconds=5),
            )
        )  # fmt: skip
        # Another project's link, still open with its credential recorded.
        s.add(
            ConnectRequest(
                state_hash="b" * 64, team_id=TEAM, user_id="U-ed", project_id=other_id,
                service="gmail", credential_type=GMAIL, expires_at=now + LINK_TTL,
                opened_at=now,
            )
        )  # fmt: skip
    created: list[str] = []
    try:
        left = _credential(client, f"clixen-p{pid}-GMAIL", created)
        in_use = _credential(client, f"clixen-p{other_id}-GMAIL", created)
        with session_factory.begin() as s:
            s.query(ConnectRequest).filter_by(project_id=other_id).update(
                {"n8n_credential_id": in_use}
            )
        # While a link could still be completing, nothing is a leftover.
        _, fresh = connect_leftovers(session_factory, n8n=client, actor=EDITOR, project="main")
        assert fresh == []
        later = now + LINK_TTL + dt.timedelta(minutes=1)
        name, listed = connect_leftovers(
            session_factory, n8n=client, actor=EDITOR, project="main", now=later
        )
        assert name == "main" and [(x.credential_id, x.service) for x in listed] == [
            (left, "gmail")
        ]
        _, removed = connect_leftovers(
            session_factory, n8n=client, actor=EDITOR, project="main", remove=True, now=later
        )
        assert [x.credential_id for x in removed] == [left]
        assert not _exists(client, left) and _exists(client, in_use)
        _, none_left = connect_leftovers(
            session_factory, n8n=client, actor=EDITOR, project="other", now=later
        )
        assert none_left == []
    finally:
        for credential_id in created:
            client.delete_credential(credential_id)  # gone already: nothing to do
