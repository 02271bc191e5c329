"""Review before live on the CLI, on the real n8n: the owner turns it on; an editor's deploy and
rollback wait (exit 0, nothing in n8n changes); `clixen reviews` lists them; the editor cannot
approve; the owner approves exactly the version shown (its digest) and rejects the other; the
versions and `reviews --all` keep the trail."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.n8n import N8nClient
from tests.cli.common import run
from tests.doubles.llm_server import ScriptedLLM
from tests.workflows import answer, label_of, labelled_schedule, schedule_workflow


def test_an_editors_versions_wait_for_the_owner_on_the_cli(
    cli_env: N8nClient,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CLIXEN_CLI_USER", "alice")
    assert run(capsys, "project", "create", "ops")[0] == 0
    path = tmp_path / "w.json"
    path.write_text(json.dumps(labelled_schedule("first")))
    code, out, err = run(capsys, "deploy", str(path), "-p", "ops", "-n", "digest")
    assert code == 0, err
    n8n_id = out.rsplit("(n8n id ", 1)[1].split(")")[0]
    assert run(capsys, "project", "add-member", "ops", "cli:bob", "editor")[0] == 0

    monkeypatch.setenv("CLIXEN_CLI_USER", "bob")
    code, _, err = run(capsys, "review", "on", "-p", "ops")
    assert code == 1 and "owner rights" in err
    monkeypatch.setenv("CLIXEN_CLI_USER", "alice")
    code, out, _ = run(capsys, "review", "on", "-p", "ops")
    assert code == 0 and "is on" in out

    # The editor's new version waits: said, exit 0, n8n unchanged.
    monkeypatch.setenv("CLIXEN_CLI_USER", "bob")
    path.write_text(json.dumps(labelled_schedule("second")))
    code, out, err = run(capsys, "deploy", str(path), "-p", "ops", "-n", "digest")
    assert code == 0, err
    assert "v2 of 'digest' waits for a project owner's approval (review #" in out
    review_id = out.split("(review #", 1)[1].split(")")[0]
    assert label_of(cli_env.get_workflow(n8n_id)) == "first"
    code, out, err = run(capsys, "reviews", "-p", "ops")
    assert code == 0, err
    assert f"#{review_id}" in out and "pending" in out and "asked by cli:bob" in out
    code, out, err = run(capsys, "reviews", "show", review_id)
    assert code == 0, err
    assert "v1 is live" in out and "Label" in out and "test run: success" in out
    digest = out.split("--digest ", 1)[1].split()[0]
    code, _, err = run(capsys, "approve", review_id)
    assert code == 1 and "owner rights" in err

    # The owner approves exactly what was shown.
    monkeypatch.setenv("CLIXEN_CLI_USER", "alice")
    code, out, err = run(capsys, "approve", review_id, "--digest", digest, "--reason", "ok")
    assert code == 0, err
    assert "is approved and live" in out
    assert label_of(cli_env.get_workflow(n8n_id)) == "second"

    # A rollback waits too; rejected, live stays v2.
    monkeypatch.setenv("CLIXEN_CLI_USER", "bob")
    code, out, err = run(capsys, "rollback", "digest", "--to", "1", "-p", "ops")
    assert code == 0, err
    assert "waits for a project owner's approval" in out
    rollback_review = out.split("(review #", 1)[1].split(":")[0]
    monkeypatch.setenv("CLIXEN_CLI_USER", "alice")
    code, out, err = run(capsys, "reject", rollback_review, "--reason", "keep v2")
    assert code == 0, err
    assert "is rejected; v2 stays live" in out
    assert label_of(cli_env.get_workflow(n8n_id)) == "second"
    code, _, err = run(capsys, "reject", rollback_review)
    assert code == 1 and "already rejected by cli:alice" in err

    code, out, err = run(capsys, "versions", "digest", "-p", "ops")
    assert code == 0, err
    assert "awaiting" not in out and "rejected" in out
    assert f"#{review_id}" in out and "approved by cli:alice" in out and "(ok)" in out
    code, out, _ = run(capsys, "reviews", "--all", "-p", "ops")
    assert "rejected by cli:alice" in out and "(keep v2)" in out


def test_a_create_that_waits_says_which_review(
    cli_env: N8nClient,
    llm: ScriptedLLM,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CLIXEN_CLI_USER", "alice")
    assert run(capsys, "project", "create", "ops")[0] == 0
    assert run(capsys, "review", "on")[0] == 0
    llm.script(answer(schedule_workflow("CLI news")))
    code, out, err = run(capsys, "create", "every morning post the news", "--watch", "0")
    assert code == 0, err
    assert "CLI news v1 is ready and waits for a project owner's approval (review #" in out
    assert "v1 waits in review #" in out and "n8n id None" not in out
    code, out, _ = run(capsys, "list")
    assert "CLI news" in out and "draft" in out
