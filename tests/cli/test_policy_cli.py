"""`clixen policy allow-host|deny-host|show` and `clixen deploy` of a workflow that calls an
internal host, end to end on real Postgres + n8n."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.n8n import N8nClient
from tests.cli.common import run
from tests.workflows import labelled_schedule


def internal_call(tmp_path: Path) -> str:
    """A workflow file whose HTTP Request node calls a host of the private network."""
    wf = labelled_schedule("x", name="inventory")
    wf["nodes"].append(
        {
            "name": "Ask inventory",
            "type": "n8n-nodes-base.httpRequest",
            "typeVersion": 4.2,
            "position": [440, 0],
            "parameters": {"url": "http://10.1.2.3:8080/stock", "options": {}},
        }
    )
    wf["connections"]["Label"] = {"main": [[{"node": "Ask inventory", "type": "main", "index": 0}]]}
    path = tmp_path / "inventory.json"
    path.write_text(json.dumps(wf))
    return str(path)


def test_owners_allow_and_remove_internal_hosts_and_deploy_follows(
    cli_env: N8nClient,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    file = internal_call(tmp_path)
    assert run(capsys, "project", "create", "ops")[0] == 0

    code, _, err = run(capsys, "deploy", file, "--project", "ops")
    assert code == 1 and "10.1.2.3" in err and "private" in err

    code, out, err = run(capsys, "policy", "allow-host", "10.1.2.3", "--project", "ops")
    assert code == 0, err
    assert "10.1.2.3" in out
    code, out, _ = run(capsys, "policy", "show", "--project", "ops")
    assert code == 0 and "10.1.2.3" in out

    code, out, err = run(capsys, "deploy", file, "--project", "ops")
    assert code == 0, err
    assert "deployed v1" in out

    # Only owners change it: an editor is refused and the list stays as it was.
    assert run(capsys, "project", "add-member", "ops", "cli:bob", "editor")[0] == 0
    monkeypatch.setenv("CLIXEN_CLI_USER", "bob")
    code, _, err = run(capsys, "policy", "deny-host", "10.1.2.3", "--project", "ops")
    assert code == 1 and "owner" in err
    code, _, err = run(capsys, "policy", "allow-host", "10.0.0.0/8", "--project", "ops")
    assert code == 1 and "owner" in err
    monkeypatch.setenv("CLIXEN_CLI_USER", "alice")

    code, out, err = run(capsys, "policy", "deny-host", "10.1.2.3", "--project", "ops")
    assert code == 0, err
    code, out, _ = run(capsys, "policy", "show", "--project", "ops")
    assert "10.1.2.3" not in out
    code, _, err = run(capsys, "deploy", file, "--project", "ops")
    assert code == 1 and "10.1.2.3" in err


def test_allow_host_refuses_what_is_not_a_host(
    cli_env: N8nClient, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "project", "create", "ops")[0] == 0
    code, _, err = run(capsys, "policy", "allow-host", "http://10.1.2.3/", "--project", "ops")
    assert code == 1 and "host" in err


def test_allowing_a_default_denied_type_says_n8n_must_load_it_too(
    cli_env: N8nClient, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "project", "create", "tables")[0] == 0
    code, out, _ = run(capsys, "policy", "allow", "n8n-nodes-base.dataTable", "--project", "tables")
    assert code == 0 and "n8n-nodes-base.dataTable allowed in project tables" in out
    assert "drop them from NODES_EXCLUDE and restart n8n" in out
    code, out, _ = run(capsys, "policy", "show", "--project", "tables")
    assert "n8n-nodes-base.debugHelper" in out and "n8n-nodes-base.dataTable " not in out
    code, out, _ = run(capsys, "policy", "allow", "n8n-nodes-base.slack", "--project", "tables")
    assert code == 0 and "NODES_EXCLUDE" not in out
