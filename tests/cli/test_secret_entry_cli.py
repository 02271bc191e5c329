"""Secrets in one go: an HTTP header key from the validator's hint to a deployed workflow, every
field checked against n8n's credential schema when the secret is set (never at deploy), and a
key that cannot read the stored secrets refused by name. Real Postgres and n8n."""

from __future__ import annotations

import builtins
import getpass
import io
import json
import re
import shlex
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.credentials import secrets as project_secrets
from core.credentials.crypto import encrypt
from core.kernel.models import Secret, Workflow
from core.kernel.settings import get_settings
from core.n8n import N8nClient
from tests.cli.common import run
from tests.conftest import CLI_SECRET_KEY

API_HOST = "api.example.com"


def http_with_header_auth(name: str = "items") -> dict[str, Any]:
    return {
        "name": name,
        "nodes": [
            {"name": "Every hour", "type": "n8n-nodes-base.scheduleTrigger", "typeVersion": 1.2,
             "position": [0, 0], "parameters": {"rule": {"interval": [{"field": "hours"}]}}},
            {"name": "Fetch items", "type": "n8n-nodes-base.httpRequest", "typeVersion": 4.2,
             "position": [220, 0],
             "parameters": {"url": f"https://{API_HOST}/items", "authentication":
                            "genericCredentialType", "genericAuthType": "httpHeaderAuth",
                            "options": {}}},
        ],
        "connections": {"Every hour": {"main": [[{"node": "Fetch items", "type": "main",
                                                   "index": 0}]]}},
        "settings": {"executionOrder": "v1"},
    }  # fmt: skip


def _stdin(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))


def _value(session_factory: sessionmaker[Session], name: str) -> str:
    with session_factory() as s:
        row = s.scalars(select(Secret).where(Secret.name == name)).one()
        return project_secrets.get_secret_value(
            session=s, project_id=row.project_id, name=name, key=CLI_SECRET_KEY
        )


def test_an_http_header_key_from_the_hint_to_a_deployed_workflow(
    cli_env: N8nClient,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    session_factory: sessionmaker[Session],
) -> None:
    path = tmp_path / "items.json"
    path.write_text(json.dumps(http_with_header_auth()))
    code, out, _ = run(capsys, "validate", str(path))
    assert code == 0
    # The hint is a command that works as printed: with the host the node calls.
    [hint] = re.findall(r"`(clixen secret set [^`]+)`", out)
    assert hint == (
        f"clixen secret set HTTP_HEADER_AUTH --type httpHeaderAuth --allowed-host {API_HOST}"
    )
    argv = shlex.split(hint)[1:]

    # One bare value can never work for a type with two fields: refused now, not at deploy.
    _stdin(monkeypatch, "hdrval\n")
    code, _, err = run(capsys, *argv)
    assert code == 1
    assert "fields name, value" in err and "--field name=" in err
    # A field the type does not have, and a secret field on the command line, are refused.
    _stdin(monkeypatch, "hdrval\n")
    code, _, err = run(capsys, *argv, "--field", "header=X-API-Key")
    assert code == 1 and "no field 'header'" in err and "name, value" in err
    code, _, err = run(capsys, *argv, "--field", "value=hdrval")
    assert code == 1 and "never on the command line" in err
    with session_factory() as s:
        assert s.scalars(select(Secret)).all() == []

    # The non-secret field on the command line, the key on stdin: one go.
    _stdin(monkeypatch, "hdrval-0123456789\n")
    code, out, err = run(capsys, *argv, "--field", "name=X-API-Key")
    assert code == 0, err
    assert "Secret HTTP_HEADER_AUTH saved" in out and "hdrval" not in out + err
    assert json.loads(_value(session_factory, "HTTP_HEADER_AUTH")) == {
        "name": "X-API-Key",
        "value": "hdrval-0123456789",
    }

    code, out, err = run(capsys, "deploy", str(path))
    assert code == 0, err
    with session_factory() as s:
        wf = s.scalars(select(Workflow)).one()
        secret = s.scalars(select(Secret)).one()
    deployed = cli_env.get_workflow(str(wf.n8n_workflow_id))
    [fetch] = [n for n in deployed["nodes"] if n["name"] == "Fetch items"]
    assert fetch["credentials"]["httpHeaderAuth"]["id"] == secret.n8n_credential_id
    assert deployed["active"] is True

    # Set again without --type, it keeps its type: the same fields, the same checks.
    _stdin(monkeypatch, "hdrval-new\n")
    code, _, err = run(capsys, "secret", "set", "HTTP_HEADER_AUTH")
    assert code == 1 and "fields name, value" in err
    _stdin(monkeypatch, "hdrval-new\n")
    code, _, err = run(capsys, "secret", "set", "HTTP_HEADER_AUTH", "--field", "name=X-API-Key")
    assert code == 0, err
    assert json.loads(_value(session_factory, "HTTP_HEADER_AUTH"))["value"] == "hdrval-new"


def test_a_terminal_asks_field_by_field(
    cli_env: N8nClient,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    session_factory: sessionmaker[Session],
) -> None:
    asked: list[str] = []

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    def answer(prompt: str = "") -> str:
        asked.append(prompt)
        return "X-Token" if prompt.startswith("name") else "typed-secret-value"

    monkeypatch.setattr(sys, "stdin", Terminal())
    monkeypatch.setattr(getpass, "getpass", answer)
    monkeypatch.setattr(builtins, "input", answer)
    code, _, err = run(capsys, "secret", "set", "API_AUTH", "--type", "httpHeaderAuth",
                         "--allowed-host", API_HOST)  # fmt: skip
    assert code == 0, err
    assert [p.split(" ")[0].rstrip(":") for p in asked] == ["name", "value"]
    assert "(hidden)" in asked[1] and "(hidden)" not in asked[0]
    assert json.loads(_value(session_factory, "API_AUTH")) == {
        "name": "X-Token",
        "value": "typed-secret-value",
    }


def test_a_key_that_cannot_read_the_store_is_refused_and_rotate_names_the_secret(
    cli_env: N8nClient,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    session_factory: sessionmaker[Session],
) -> None:
    _stdin(monkeypatch, "xoxb-first\n")
    assert run(capsys, "secret", "set", "SLACK_API", "--type", "slackApi")[0] == 0
    monkeypatch.setenv("CLIXEN_SECRET_KEY", "an-other-key-0123456789abcdef")
    get_settings.cache_clear()
    _stdin(monkeypatch, "xoxb-second\n")
    code, _, err = run(capsys, "secret", "set", "OTHER_API", "--type", "slackApi")
    assert code == 1
    assert "cannot read secret SLACK_API" in err and "nothing was saved" in err
    with session_factory() as s:
        assert [r.name for r in s.scalars(select(Secret))] == ["SLACK_API"]

    # A store that mixes keys already (written before this check): rotate names the secret
    # that fails and changes nothing.
    with session_factory.begin() as s:
        first = s.scalars(select(Secret)).one()
        s.add(
            Secret(
                project_id=first.project_id,
                name="MIXED_IN",
                ciphertext=encrypt(s, value="v", key="yet-another-key-0123456789",
                                   project_id=first.project_id, name="MIXED_IN"),
                credential_type="slackApi",
                created_by="cli:alice",
            )
        )  # fmt: skip
    monkeypatch.setenv("CLIXEN_SECRET_KEY", CLI_SECRET_KEY)
    monkeypatch.setenv("CLIXEN_NEW_SECRET_KEY", "the-new-key-0123456789abcdef")
    get_settings.cache_clear()
    code, _, err = run(capsys, "secret", "rotate")
    assert code == 1
    assert "Nothing was re-encrypted" in err and "MIXED_IN (project " in err
    assert "clixen secret delete MIXED_IN --project" in err
    assert _value(session_factory, "SLACK_API") == "xoxb-first"
