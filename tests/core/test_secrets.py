"""Per-project secrets: encrypted at rest, rotated, never logged, bound to n8n credentials."""

from __future__ import annotations

import io
import logging
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from cli import main
from core.credentials import secrets as project_secrets
from core.credentials import sync as credential_sync
from core.credentials.secrets import SecretKeyMismatch
from core.kernel import db
from core.kernel.errors import InvalidInput, NotFound, PermissionDenied
from core.kernel.models import Base, Project
from core.kernel.settings import get_settings
from core.n8n import N8nClient
from tests.doubles.http_sink import HttpSink
from tests.workflows import webhook_workflow

KEY = "k3y-for-tests-0f9a8b7c"
NEW_KEY = "n3w-key-for-tests-1e2d3c"
VALUE = "xoxb-1111-2222-SuperSecretValue"


def _project(factory: sessionmaker[Session], name: str = "p") -> int:
    with factory.begin() as s:
        p = Project(team_id="T1", name=name, created_by="U1")
        s.add(p)
        s.flush()
        return p.id


def _set(s: Session, project_id: int, name: str = "SLACK_TOKEN", **kw: Any) -> None:
    kw.setdefault("value", VALUE)
    kw.setdefault("key", KEY)
    project_secrets.set_secret(
        session=s, project_id=project_id, name=name, actor_user_id="U1", **kw
    )


def test_round_trip_on_postgres_stores_pgcrypto_ciphertext(
    session_factory: sessionmaker[Session],
) -> None:
    pid = _project(session_factory)
    with session_factory.begin() as s:
        _set(s, pid, credential_type="slackApi")
    with session_factory.begin() as s:
        raw = s.execute(text("SELECT ciphertext FROM secrets")).scalar_one()
        assert isinstance(raw, bytes)
        assert VALUE.encode() not in raw
        # It is pgcrypto's own format: the database itself decrypts it with the key (to the
        # value behind a header that binds it to its project and name).
        assert (
            s.execute(
                text("SELECT pgp_sym_decrypt(ciphertext, :k) FROM secrets"), {"k": KEY}
            ).scalar_one()
            == f"clixen-secret:{pid}:SLACK_TOKEN\n{VALUE}"
        )
        assert (
            project_secrets.get_secret_value(session=s, project_id=pid, name="SLACK_TOKEN", key=KEY)
            == VALUE
        )
        infos = project_secrets.list_secrets(session=s, project_id=pid)
    assert [(i.name, i.credential_type) for i in infos] == [("SLACK_TOKEN", "slackApi")]
    assert VALUE not in repr(infos)


def test_secrets_are_per_project(session_factory: sessionmaker[Session]) -> None:
    a, b = _project(session_factory, "a"), _project(session_factory, "b")
    with session_factory.begin() as s:
        _set(s, a)
        assert project_secrets.list_secrets(session=s, project_id=b) == []
        with pytest.raises(NotFound):
            project_secrets.get_secret_value(session=s, project_id=b, name="SLACK_TOKEN", key=KEY)


def test_wrong_key_is_refused_without_breaking_the_transaction(
    session_factory: sessionmaker[Session],
) -> None:
    pid = _project(session_factory)
    with session_factory.begin() as s:
        _set(s, pid)
        with pytest.raises(SecretKeyMismatch):
            project_secrets.get_secret_value(
                session=s, project_id=pid, name="SLACK_TOKEN", key="wrong"
            )
        assert len(project_secrets.list_secrets(session=s, project_id=pid)) == 1


def test_rotation_re_encrypts_every_row(session_factory: sessionmaker[Session]) -> None:
    a, b = _project(session_factory, "a"), _project(session_factory, "b")
    with session_factory.begin() as s:
        _set(s, a)
        _set(s, b, name="API_KEY", value="other-value")
        before = s.execute(text("SELECT ciphertext FROM secrets ORDER BY id")).scalars().all()
    with session_factory.begin() as s:
        assert project_secrets.rotate_key(session=s, old_key=KEY, new_key=NEW_KEY) == 2
    with session_factory.begin() as s:
        after = s.execute(text("SELECT ciphertext FROM secrets ORDER BY id")).scalars().all()
        assert all(x != y for x, y in zip(before, after, strict=True))
        with pytest.raises(SecretKeyMismatch):
            project_secrets.get_secret_value(session=s, project_id=a, name="SLACK_TOKEN", key=KEY)
        assert (
            project_secrets.get_secret_value(session=s, project_id=b, name="API_KEY", key=NEW_KEY)
            == "other-value"
        )
        # Rotating with a wrong old key changes nothing.
        with pytest.raises(SecretKeyMismatch):
            project_secrets.rotate_key(session=s, old_key=KEY, new_key="third")
        assert (
            project_secrets.get_secret_value(
                session=s, project_id=a, name="SLACK_TOKEN", key=NEW_KEY
            )
            == VALUE
        )


def test_secret_value_and_key_never_reach_the_logs(
    session_factory: sessionmaker[Session], database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    pid = _project(session_factory)
    # An engine that echoes every statement: what an operator turning on SQL logging would see.
    loud = db.make_engine(database_url, echo=True)
    try:
        factory = db.make_session_factory(loud)
        with caplog.at_level(logging.DEBUG), factory.begin() as s:
            _set(s, pid)
            project_secrets.get_secret_value(session=s, project_id=pid, name="SLACK_TOKEN", key=KEY)
            with pytest.raises(SecretKeyMismatch):
                project_secrets.get_secret_value(
                    session=s, project_id=pid, name="SLACK_TOKEN", key=KEY + "x"
                )
            project_secrets.rotate_key(session=s, old_key=KEY, new_key=NEW_KEY)
    finally:
        loud.dispose()
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "pgp_sym_encrypt" in logged  # the statements were logged...
    assert VALUE not in logged  # ...but never the value
    assert KEY not in logged and NEW_KEY not in logged  # ...nor the keys


@pytest.mark.parametrize("name", ["slack_token", "1KEY", "A" * 65, "MY-KEY", ""])
def test_bad_names_are_refused(session_factory: sessionmaker[Session], name: str) -> None:
    pid = _project(session_factory)
    with session_factory.begin() as s, pytest.raises(InvalidInput, match="secret name"):
        _set(s, pid, name=name)


def test_sqlite_uses_authenticated_encryption(tmp_path: Path) -> None:
    engine = db.make_engine(f"sqlite:///{tmp_path}/s.sqlite3")
    Base.metadata.create_all(engine)
    factory = db.make_session_factory(engine)
    pid = _project(factory)
    with factory.begin() as s:
        _set(s, pid)
        _set(s, pid, name="OTHER", value="v2")
    with factory.begin() as s:
        raw = dict(s.execute(text("SELECT name, ciphertext FROM secrets")).all())
        assert VALUE.encode() not in raw["SLACK_TOKEN"]
        assert (
            project_secrets.get_secret_value(session=s, project_id=pid, name="SLACK_TOKEN", key=KEY)
            == VALUE
        )
        # A ciphertext moved onto another secret's row does not decrypt (name is authenticated).
        s.execute(
            text("UPDATE secrets SET ciphertext = :c WHERE name = 'OTHER'"),
            {"c": raw["SLACK_TOKEN"]},
        )
        with pytest.raises(SecretKeyMismatch):
            project_secrets.get_secret_value(session=s, project_id=pid, name="OTHER", key=KEY)
    with factory.begin() as s:
        s.execute(text("DELETE FROM secrets WHERE name = 'OTHER'"))
        assert project_secrets.rotate_key(session=s, old_key=KEY, new_key=NEW_KEY) == 1
        with pytest.raises(SecretKeyMismatch):
            project_secrets.get_secret_value(session=s, project_id=pid, name="SLACK_TOKEN", key=KEY)
        assert (
            project_secrets.get_secret_value(
                session=s, project_id=pid, name="SLACK_TOKEN", key=NEW_KEY
            )
            == VALUE
        )
    engine.dispose()


def _slack_workflow(cred_ref: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": "post",
        "nodes": [
            {
                "id": "1",
                "name": "Every morning",
                "type": "n8n-nodes-base.scheduleTrigger",
                "typeVersion": 1.2,
                "position": [0, 0],
                "parameters": {},
            },
            {
                "id": "2",
                "name": "Post to Slack",
                "type": "n8n-nodes-base.slack",
                "typeVersion": 2.3,
                "position": [200, 0],
                "parameters": {"select": "channel", "text": "hi"},
                "credentials": {"slackApi": cred_ref},
            },
        ],
        "connections": {},
    }


def test_deploy_binds_project_secrets_as_n8n_credentials(
    session_factory: sessionmaker[Session], n8n: Any
) -> None:
    pid = _project(session_factory)
    other = _project(session_factory, "other")
    client = N8nClient(n8n.url, n8n.api_key)
    created: list[str] = []
    try:
        with session_factory.begin() as s:
            _set(s, pid, credential_type="slackApi")
        with session_factory.begin() as s:
            wf = credential_sync.sync_project_credentials(
                session_factory=session_factory,
                project_id=pid,
                n8n=client,
                key=KEY,
                workflow_json=_slack_workflow({"name": "SLACK_TOKEN"}),
            )
        ref = wf["nodes"][1]["credentials"]["slackApi"]
        created.append(ref["id"])
        assert ref["name"] == f"clixen-p{pid}-SLACK_TOKEN"
        assert VALUE not in str(wf)
        # n8n accepts the workflow with the bound credential.
        n8n_wf = client.create_workflow(
            {k: wf[k] for k in ("name", "nodes", "connections")} | {"settings": {}}
        )
        client.delete_workflow(n8n_wf["id"])

        # Unchanged secret: the same credential is reused; changed: updated in place.
        with session_factory.begin() as s:
            again = credential_sync.sync_project_credentials(
                session_factory=session_factory, project_id=pid, n8n=client, key=KEY,
                workflow_json=_slack_workflow({"name": "SLACK_TOKEN"}),
            )  # fmt: skip
            assert again["nodes"][1]["credentials"]["slackApi"]["id"] == ref["id"]
            _set(s, pid, value="xoxb-new-value")
        with session_factory.begin() as s:
            # Found by credential type alone when the node does not name the secret.
            third = credential_sync.sync_project_credentials(
                session_factory=session_factory, project_id=pid, n8n=client, key=KEY,
                workflow_json=_slack_workflow({}),
            )  # fmt: skip
        new_id = third["nodes"][1]["credentials"]["slackApi"]["id"]
        assert new_id == ref["id"]

        # Another project cannot borrow this project's credential by id.
        with session_factory.begin() as s, pytest.raises(PermissionDenied):
            credential_sync.sync_project_credentials(
                session_factory=session_factory, project_id=other, n8n=client, key=KEY,
                workflow_json=_slack_workflow({"id": new_id, "name": "x"}),
            )  # fmt: skip
        with session_factory.begin() as s, pytest.raises(InvalidInput, match="no secret"):
            credential_sync.sync_project_credentials(
                session_factory=session_factory, project_id=other, n8n=client, key=KEY,
                workflow_json=_slack_workflow({}),
            )  # fmt: skip
        with session_factory.begin() as s:
            project_secrets.delete_secret(session=s, project_id=pid, name="SLACK_TOKEN")
            assert project_secrets.list_secrets(session=s, project_id=pid) == []
    finally:
        for cid in created:
            client.delete_credential(cid)
        client.close()


def test_secret_commands_never_print_or_take_the_value_as_an_argument(
    session_factory: sessionmaker[Session],
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("CLIXEN_CLI_USER", "alice")
    monkeypatch.setenv("CLIXEN_SECRET_KEY", KEY)
    monkeypatch.delenv("N8N_URL", raising=False)
    get_settings.cache_clear()
    try:
        monkeypatch.setattr(sys, "stdin", io.StringIO(VALUE + "\n"))
        with caplog.at_level(logging.DEBUG):
            assert main(["secret", "set", "SLACK_TOKEN", "--type", "slackApi"]) == 0
            assert main(["secret", "list"]) == 0
            monkeypatch.setenv("CLIXEN_NEW_SECRET_KEY", NEW_KEY)
            assert main(["secret", "rotate"]) == 0
    finally:
        get_settings.cache_clear()
    out = capsys.readouterr().out
    assert "Secret SLACK_TOKEN saved (encrypted)" in out
    assert "SLACK_TOKEN" in out and "slackApi" in out
    assert "Re-encrypted 1 secret(s)" in out
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for text_ in (out, logged):
        assert VALUE not in text_ and KEY not in text_ and NEW_KEY not in text_
    with session_factory.begin() as s:
        (pid,) = s.execute(text("SELECT project_id FROM secrets")).scalars().all()
        assert (
            project_secrets.get_secret_value(
                session=s, project_id=pid, name="SLACK_TOKEN", key=NEW_KEY
            )
            == VALUE
        )


def test_postgres_ciphertext_is_bound_to_its_project_and_name(
    session_factory: sessionmaker[Session],
) -> None:
    a, b = _project(session_factory, "a"), _project(session_factory, "b")
    with session_factory.begin() as s:
        _set(s, a)
        _set(s, a, name="OTHER", value="other-value")
        _set(s, b, value="b-value")
    with session_factory.begin() as s:
        (stolen,) = s.execute(
            text("SELECT ciphertext FROM secrets WHERE project_id = :a AND name = 'SLACK_TOKEN'"),
            {"a": a},
        ).scalars()
        # Copied onto another secret of the same project, and onto another project's secret.
        s.execute(
            text(
                "UPDATE secrets SET ciphertext = :c WHERE (project_id = :a AND name = 'OTHER') "
                "OR project_id = :b"
            ),
            {"c": stolen, "a": a, "b": b},
        )
    with session_factory.begin() as s:
        with pytest.raises(SecretKeyMismatch):
            project_secrets.get_secret_value(session=s, project_id=a, name="OTHER", key=KEY)
        with pytest.raises(SecretKeyMismatch):
            project_secrets.get_secret_value(session=s, project_id=b, name="SLACK_TOKEN", key=KEY)
        # Rotating the key keeps each ciphertext bound where it was made.
        assert project_secrets.rotate_key(session=s, old_key=KEY, new_key=NEW_KEY) == 3
        with pytest.raises(SecretKeyMismatch):
            project_secrets.get_secret_value(
                session=s, project_id=b, name="SLACK_TOKEN", key=NEW_KEY
            )
        assert (
            project_secrets.get_secret_value(
                session=s, project_id=a, name="SLACK_TOKEN", key=NEW_KEY
            )
            == VALUE
        )


def _header_auth_hook(path: str, url: str) -> dict[str, Any]:
    """A webhook → HTTP Request to `url` authenticated by the API_AUTH secret (header auth)."""
    return webhook_workflow(
        path,
        {
            "name": "Call the API",
            "type": "n8n-nodes-base.httpRequest",
            "typeVersion": 4.2,
            "parameters": {
                "method": "GET",
                "url": url,
                "authentication": "genericCredentialType",
                "genericAuthType": "httpHeaderAuth",
                "options": {},
            },
            "credentials": {"httpHeaderAuth": {"name": "API_AUTH"}},
        },
        method="GET",
        name=f"test rotation {path}",
    )


def test_rotating_a_secret_updates_its_n8n_credential_in_place(
    session_factory: sessionmaker[Session], n8n: Any
) -> None:
    """Two live workflows share one credential; a new value reaches both at once, no redeploy."""
    pid = _project(session_factory)
    sink = HttpSink()
    client = N8nClient(n8n.url, n8n.api_key)
    workflow_ids: list[str] = []
    credential_id = None
    try:
        with session_factory.begin() as s:
            _set(s, pid, name="API_AUTH", value='{"name": "X-Api-Key", "value": "old-value"}',
                 credential_type="httpHeaderAuth", allowed_hosts=["127.0.0.1"])  # fmt: skip
        paths = [f"clixen-rot-{uuid.uuid4().hex[:8]}" for _ in range(2)]
        for path in paths:
            with session_factory.begin() as s:
                wf = credential_sync.sync_project_credentials(
                    session_factory=session_factory, project_id=pid, n8n=client, key=KEY,
                    workflow_json=_header_auth_hook(path, sink.url("/check")),
                )  # fmt: skip
            credential_id = wf["nodes"][1]["credentials"]["httpHeaderAuth"]["id"]
            workflow_ids.append(client.create_workflow(wf)["id"])
            client.activate(workflow_ids[-1])
        assert client.call_webhook(paths[0], method="GET").status_code == 200
        assert [r.headers.get("x-api-key") for r in sink.wait_for(1)] == ["old-value"]

        with session_factory.begin() as s:
            _set(s, pid, name="API_AUTH", value='{"name": "X-Api-Key", "value": "new-value"}')
        assert project_secrets.push_secret(
            session_factory, n8n=client, project_id=pid, name="API_AUTH", key=KEY
        )
        with session_factory.begin() as s:
            (row_credential,) = s.execute(
                text("SELECT n8n_credential_id FROM secrets WHERE name = 'API_AUTH'")
            ).scalars()
        assert row_credential == credential_id  # the same n8n credential, updated in place
        for path in paths:
            assert client.call_webhook(path, method="GET").status_code == 200
        seen = [r.headers.get("x-api-key") for r in sink.wait_for(3)]
        assert seen == ["old-value", "new-value", "new-value"]
    finally:
        for wid in workflow_ids:
            client.delete_workflow(wid)
        if credential_id:
            client.delete_credential(credential_id)
        client.close()
        sink.close()


def test_values_stored_before_binding_stay_readable_and_rotation_binds_them(
    session_factory: sessionmaker[Session],
) -> None:
    pid = _project(session_factory)
    with session_factory.begin() as s:
        _set(s, pid)
        # What earlier versions stored: the bare value, no header.
        s.execute(
            text("UPDATE secrets SET ciphertext = pgp_sym_encrypt(:v, :k)"), {"v": VALUE, "k": KEY}
        )
    with session_factory.begin() as s:
        got = project_secrets.get_secret_value(
            session=s, project_id=pid, name="SLACK_TOKEN", key=KEY
        )
        assert got == VALUE
        project_secrets.rotate_key(session=s, old_key=KEY, new_key=NEW_KEY)
        plain = s.execute(
            text("SELECT pgp_sym_decrypt(ciphertext, :k) FROM secrets"), {"k": NEW_KEY}
        ).scalar_one()
        assert plain == f"clixen-secret:{pid}:SLACK_TOKEN\n{VALUE}"
