"""A credential's host fields hold to the internal-host policy: a Postgres, Redis or MongoDB
host, an API base URL on an internal address is refused when the secret is set (or set again)
and when its n8n credential is written, unless a project owner allowed that host. Real Postgres
and n8n."""

from __future__ import annotations

import io
import json
import sys

import pytest
from sqlalchemy.orm import Session, sessionmaker

from cli import main
from core.credentials import secrets as project_secrets
from core.credentials import sync as credential_sync
from core.kernel.errors import InvalidInput
from core.kernel.models import Secret
from core.kernel.settings import get_settings
from core.n8n import N8nClient
from core.workspace.policy import set_project_policy
from core.workspace.projects import default_project
from tests.core.test_deploy_guards import with_node
from tests.workflows import labelled_schedule

KEY = "k3y-for-host-field-tests-41"
TEAM, USER = "T1", "U1"


def _project(factory: sessionmaker[Session]) -> int:
    with factory.begin() as s:
        return default_project(session=s, team_id=TEAM, user_id=USER).id


def _set(factory: sessionmaker[Session], pid: int, name: str, ctype: str, data: object) -> None:
    with factory.begin() as s:
        project_secrets.set_secret(
            session=s, project_id=pid, name=name, value=json.dumps(data), actor_user_id=USER,
            key=KEY, credential_type=ctype,
        )  # fmt: skip


@pytest.mark.parametrize(
    ("ctype", "data", "field", "shown"),
    [
        ("postgres", {"host": "127.0.0.1", "database": "n8n", "user": "postgres"}, "host",
         "127.0.0.1"),
        ("redis", {"host": "localhost", "port": 6379}, "host", "localhost"),
        ("mySql", {"host": "db.example.com", "sshTunnel": True, "sshHost": "10.0.0.7"},
         "sshHost", "10.0.0.7"),
        ("mongoDb", {"configurationType": "connectionString",
                     "connectionString": "mongodb://u:p@db.example.com:27017,10.0.0.5:27017/x"},
         "connectionString", "10.0.0.5"),
        ("openAiApi", {"apiKey": "sk-1", "url": "http://169.254.169.254/v1"}, "url",
         "169.254.169.254"),
        ("githubApi", {"accessToken": "t", "server": "http://[::ffff:127.0.0.1]/api"}, "server",
         "127.0.0.1"),
    ],
)  # fmt: skip
def test_a_credential_on_an_internal_host_is_refused_when_set(
    session_factory: sessionmaker[Session], ctype: str, data: dict[str, object], field: str,
    shown: str,
) -> None:  # fmt: skip
    pid = _project(session_factory)
    with pytest.raises(InvalidInput) as err:
        _set(session_factory, pid, "CRED", ctype, data)
    message = str(err.value)
    assert f"field {field}" in message and shown in message
    assert "clixen policy allow-host" in message
    with session_factory() as s:
        assert project_secrets.list_secrets(session=s, project_id=pid) == []


def test_public_hosts_and_allowed_internal_ones_are_accepted(
    session_factory: sessionmaker[Session],
) -> None:
    pid = _project(session_factory)
    _set(session_factory, pid, "PG", "postgres", {"host": "db.example.com", "user": "u"})
    with session_factory.begin() as s:
        set_project_policy(session=s, project_id=pid, actor_user_id=USER, allow_hosts=["10.0.0.5"])
    _set(session_factory, pid, "PG_INTERNAL", "postgres", {"host": "10.0.0.5", "user": "u"})


def test_the_cli_says_which_field_and_how_to_allow_it(
    session_factory: sessionmaker[Session],
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("CLIXEN_CLI_USER", "alice")
    monkeypatch.setenv("CLIXEN_SECRET_KEY", KEY)
    monkeypatch.delenv("N8N_URL", raising=False)
    get_settings.cache_clear()
    try:
        value = json.dumps({"host": "127.0.0.1", "port": 6379})
        monkeypatch.setattr(sys, "stdin", io.StringIO(value + "\n"))
        assert main(["secret", "set", "QUEUE", "--type", "redis"]) != 0
    finally:
        get_settings.cache_clear()
    err = capsys.readouterr().err
    assert "field host points at 127.0.0.1" in err
    assert "clixen policy allow-host 127.0.0.1" in err


def test_a_host_denied_after_the_secret_was_set_is_refused_when_synced(
    session_factory: sessionmaker[Session], n8n_client: N8nClient
) -> None:
    pid = _project(session_factory)
    with session_factory.begin() as s:
        set_project_policy(session=s, project_id=pid, actor_user_id=USER, allow_hosts=["10.0.0.9"])
    _set(session_factory, pid, "PG", "postgres", {"host": "10.0.0.9", "user": "u"})
    with session_factory.begin() as s:
        set_project_policy(session=s, project_id=pid, actor_user_id=USER, allow_hosts=[])
    wf = with_node(
        labelled_schedule("x"),
        {
            "name": "Query",
            "type": "n8n-nodes-base.postgres",
            "typeVersion": 2.5,
            "parameters": {"operation": "executeQuery", "query": "select 1"},
            "credentials": {"postgres": {"name": "PG"}},
        },
    )
    with session_factory.begin() as s, pytest.raises(InvalidInput, match="field host"):
        credential_sync.sync_project_credentials(
            session_factory=session_factory,
            project_id=pid,
            n8n=n8n_client,
            key=KEY,
            workflow_json=wf,
        )
    with session_factory() as s:
        [row] = s.query(Secret).all()
        assert row.n8n_credential_id is None  # n8n was never given it
