"""`clixen project|list|deploy|versions|rollback|diff|delete` end to end on real Postgres + n8n."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from core.kernel.settings import get_settings
from core.n8n import N8nClient, N8nNotFound
from tests.cli.common import run
from tests.conftest import CLI_USER
from tests.workflows import label_of, labelled_schedule


def write(tmp_path: Path, name: str, wf: dict[str, Any]) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(wf))
    return str(path)


def test_deploy_versions_rollback_diff_delete(
    cli_env: N8nClient,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    session_factory: sessionmaker[Session],
) -> None:
    code, out, _ = run(capsys, "project", "create", "ops")
    assert code == 0 and "owner" in out
    v1_file = write(tmp_path, "v1.json", labelled_schedule("from v1"))
    code, out, err = run(capsys, "deploy", v1_file, "--project", "ops", "--name", "digest")
    assert code == 0, err
    assert "validating" in out and "created n8n workflow" in out
    assert "deployed v1 (n8n id " in out
    n8n_id = out.rsplit("(n8n id ", 1)[1].split(")")[0]
    assert cli_env.get_workflow(n8n_id)["active"] is True

    v2 = labelled_schedule("from v2")
    v2["nodes"].append(
        {
            "name": "Extra",
            "type": "n8n-nodes-base.noOp",
            "typeVersion": 1,
            "position": [440, 0],
            "parameters": {},
        }
    )
    v2["connections"]["Label"] = {"main": [[{"node": "Extra", "type": "main", "index": 0}]]}
    code, out, err = run(
        capsys, "deploy", write(tmp_path, "v2.json", v2), "-p", "ops", "-n", "digest"
    )
    assert code == 0, err
    assert f"deployed v2 (n8n id {n8n_id})" in out
    assert label_of(cli_env.get_workflow(n8n_id)) == "from v2"

    code, out, _ = run(capsys, "diff", "digest", "1", "2", "-p", "ops")
    assert code == 0 and "+1 node (Extra)" in out and "~1 changed (Label)" in out
    # Parameter by parameter, in words.
    assert "Label: assignments.assignments[label].value: from v1 → from v2" in out
    assert "+ node Extra" in out and "Label → Extra connected" in out

    code, out, err = run(capsys, "rollback", "digest", "--to", "1", "-p", "ops")
    assert code == 0, err
    assert "v3 now runs v1's workflow" in out
    assert label_of(cli_env.get_workflow(n8n_id)) == "from v1"

    code, out, _ = run(capsys, "versions", "digest", "-p", "ops")
    lines = [line for line in out.splitlines() if line.strip().startswith("v")]
    assert len(lines) == 3
    assert "superseded" in lines[0] and "import" in lines[0] and "cli:alice" in lines[0]
    assert "rollback of v1" in lines[2] and "deployed" in lines[2]

    code, out, _ = run(capsys, "list", "-p", "ops")
    assert code == 0 and "digest" in out and "active" in out and "v3" in out

    # Rolling back to what already runs is a clear error, not a new version.
    code, _, err = run(capsys, "rollback", "digest", "--to", "3", "-p", "ops")
    assert code == 1 and "already the running version" in err

    code, out, err = run(capsys, "delete", "digest", "-p", "ops")
    assert code == 0, err
    with pytest.raises(N8nNotFound):
        cli_env.get_workflow(n8n_id)


def test_invalid_json_is_refused_before_n8n(
    cli_env: N8nClient, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = labelled_schedule("x")
    bad["nodes"][1]["type"] = "n8n-nodes-base.notARealNode"
    code, out, err = run(capsys, "deploy", write(tmp_path, "bad.json", bad), "-n", "bad")
    assert code == 1
    assert "was not deployed" in err and "notARealNode" in err
    assert "created n8n workflow" not in out
    code, _, err = run(capsys, "deploy", str(tmp_path / "missing.json"))
    assert code == 1 and "Cannot read" in err


def test_a_refused_first_deploy_leaves_no_draft_behind(
    cli_env: N8nClient,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    session_factory: sessionmaker[Session],
) -> None:
    """Nothing half-made: a new workflow whose first deploy is refused (validation, quota) is not
    left listed as an empty draft; the next deploy under that name starts it afresh."""
    from sqlalchemy import func, select

    from core.kernel.models import Workflow

    bad = labelled_schedule("x")
    bad["nodes"][1]["type"] = "n8n-nodes-base.notARealNode"
    code, _, err = run(capsys, "deploy", write(tmp_path, "bad.json", bad), "-n", "digest")
    assert code == 1 and "was not deployed" in err
    monkeypatch.setenv("CLIXEN_DAILY_DEPLOYS", "0")
    get_settings.cache_clear()
    good = write(tmp_path, "good.json", labelled_schedule("ok"))
    code, _, err = run(capsys, "deploy", good, "-n", "digest")
    assert code == 1 and "deployments today" in err

    code, out, _ = run(capsys, "list")
    assert code == 0 and "digest" not in out
    with session_factory() as s:
        assert s.scalar(select(func.count(Workflow.id))) == 0

    monkeypatch.setenv("CLIXEN_DAILY_DEPLOYS", "5")
    get_settings.cache_clear()
    code, out, err = run(capsys, "deploy", good, "-n", "digest")
    assert code == 0, err
    assert "new workflow #" in out and "deployed v1" in out


def test_projects_switch_and_membership_are_enforced(
    cli_env: N8nClient,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert run(capsys, "project", "create", "alpha")[0] == 0
    assert run(capsys, "project", "use", "beta")[0] == 0
    code, out, _ = run(capsys, "project", "list")
    assert code == 0
    assert "* beta" in out and "  alpha" in out
    assert (
        run(capsys, "deploy", write(tmp_path, "w.json", labelled_schedule("b")), "-n", "w")[0] == 0
    )
    assert run(capsys, "project", "add-member", "beta", "cli:bob", "viewer")[0] == 0

    monkeypatch.setenv("CLIXEN_CLI_USER", "bob")
    code, out, _ = run(capsys, "versions", "w", "-p", "beta")
    assert code == 0 and "v1" in out
    code, _, err = run(capsys, "rollback", "w", "--to", "1", "-p", "beta")
    assert code == 1 and "viewer" in err
    code, _, err = run(capsys, "deploy", str(tmp_path / "w.json"), "-p", "beta", "-n", "w")
    assert code == 1 and "viewer" in err
    code, _, err = run(capsys, "list", "-p", "alpha")
    assert code == 1 and "not a member" in err

    # Bob is no owner: he cannot remove anyone; the owner can, and then bob is out.
    code, _, err = run(capsys, "project", "remove-member", "beta", "cli:bob")
    assert code == 1 and "owner" in err
    monkeypatch.setenv("CLIXEN_CLI_USER", CLI_USER)
    code, out, _ = run(capsys, "project", "remove-member", "beta", "cli:bob")
    assert code == 0 and "cli:bob is no longer a member of 'beta'" in out
    monkeypatch.setenv("CLIXEN_CLI_USER", "bob")
    code, _, err = run(capsys, "versions", "w", "-p", "beta")
    assert code == 1 and "not a member" in err


def test_missing_n8n_settings_are_named(
    cli_env: N8nClient,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("N8N_API_KEY", "")
    get_settings.cache_clear()
    code, _, err = run(capsys, "deploy", write(tmp_path, "w.json", labelled_schedule("x")))
    assert code == 2 and "N8N_API_KEY" in err
