"""A deleted workflow is restorable, as `clixen delete` promises: listed with `--deleted`, its
versions readable, and `clixen restore` (project owners) runs its last version in n8n again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.n8n import N8nClient, N8nNotFound
from tests.cli.common import run
from tests.workflows import label_of, labelled_schedule


def test_a_deleted_workflow_is_listed_readable_and_restored_by_its_owner(
    cli_env: N8nClient,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert run(capsys, "project", "create", "ops")[0] == 0
    path = tmp_path / "w.json"
    path.write_text(json.dumps(labelled_schedule("kept")))
    code, out, err = run(capsys, "deploy", str(path), "-p", "ops", "-n", "digest")
    assert code == 0, err
    old_n8n_id = out.rsplit("(n8n id ", 1)[1].split(")")[0]
    assert run(capsys, "project", "add-member", "ops", "cli:bob", "editor")[0] == 0

    code, out, err = run(capsys, "delete", "digest", "-p", "ops")
    assert code == 0, err
    assert "clixen restore #" in out
    with pytest.raises(N8nNotFound):
        cli_env.get_workflow(old_n8n_id)

    # Gone from the list, but not from `list --deleted`; its history reads as before.
    code, out, _ = run(capsys, "list", "-p", "ops")
    assert code == 0 and "digest" not in out
    code, out, _ = run(capsys, "list", "-p", "ops", "--deleted")
    assert code == 0 and "digest" in out and "deleted" in out
    code, out, err = run(capsys, "versions", "digest", "-p", "ops")
    assert code == 0, err
    assert "(deleted)" in out and "v1" in out and "clixen restore #" in out
    # Changing it says what "kept" means and how to get it back.
    code, _, err = run(capsys, "rollback", "digest", "--to", "1", "-p", "ops")
    assert code == 1 and "was deleted" in err and "clixen restore #" in err

    # An editor may not restore it; the owner may.
    monkeypatch.setenv("CLIXEN_CLI_USER", "bob")
    code, _, err = run(capsys, "restore", "digest", "-p", "ops")
    assert code == 1 and "owner" in err
    monkeypatch.setenv("CLIXEN_CLI_USER", "alice")
    code, out, err = run(capsys, "restore", "digest", "-p", "ops")
    assert code == 0, err
    assert "is back: v2 (v1's workflow)" in out
    new_n8n_id = out.rsplit("(n8n id ", 1)[1].split(")")[0]
    assert new_n8n_id != old_n8n_id
    back = cli_env.get_workflow(new_n8n_id)
    assert back["active"] is True and label_of(back) == "kept"
    code, out, _ = run(capsys, "list", "-p", "ops")
    assert "digest" in out and "active" in out and "v2" in out
    code, _, err = run(capsys, "restore", "digest", "-p", "ops")
    assert code == 1 and "not deleted" in err
