"""What a newcomer trips over on the command line: every error names its cause and the next
step, nothing is claimed that did not happen (real Postgres, the real n8n)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.kernel.models import ConnectRequest
from core.kernel.settings import get_settings
from core.n8n import N8nClient
from tests.cli.common import run
from tests.conftest import N8nStack
from tests.waiting import wait_until
from tests.workflows import WORKS, labelled_schedule, order_hook


def _write(tmp_path: Path, name: str, wf: dict[str, Any]) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(wf))
    return str(path)


def test_a_wrong_n8n_api_key_is_named_and_nothing_false_is_claimed(
    cli_env: N8nClient,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    n8n: N8nStack,
    caplog: pytest.LogCaptureFixture,
) -> None:
    path = _write(tmp_path, "w.json", labelled_schedule("v1"))
    code, out, err = run(capsys, "deploy", path, "-n", "digest")
    assert code == 0, err
    monkeypatch.setenv("N8N_API_KEY", "not-the-key")
    get_settings.cache_clear()
    with caplog.at_level(logging.INFO):
        code, out, err = run(capsys, "deploy", path, "-n", "digest")
    assert code == 1
    assert f"N8N_API_KEY was refused by n8n at {n8n.url.rstrip('/')}" in err
    assert "could not restore" not in out + err + caplog.text
    monkeypatch.setenv("N8N_API_KEY", n8n.api_key)
    get_settings.cache_clear()
    code, out, _ = run(capsys, "versions", "digest")
    assert code == 0
    # The failed attempt says why in full (never cut mid-sentence).
    [why] = [line for line in out.splitlines() if "why:" in line]
    assert "N8N_API_KEY was refused" in why and why.rstrip().endswith("Nothing was changed in n8n.")


def test_an_execution_of_another_workflow_is_refused(
    cli_env: N8nClient,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    n8n: N8nStack,
) -> None:
    hook = f"newcomer-{uuid.uuid4().hex[:8]}"
    code, out, err = run(capsys, "deploy", _write(tmp_path, "h.json", order_hook(hook, WORKS)))
    assert code == 0, err
    hook_id = out.rsplit("(n8n id ", 1)[1].split(")")[0]
    code, out, err = run(capsys, "deploy", _write(tmp_path, "s.json", labelled_schedule("x")))
    assert code == 0, err

    def called() -> bool:
        return httpx.post(f"{n8n.url}/webhook/{hook}", json={"total": 1}).status_code == 200

    wait_until(called, 30, "the webhook never registered")
    [execution] = wait_until(
        lambda: cli_env.list_executions(workflow_id=hook_id).items, 30, "no execution"
    )
    ref = str(execution["id"])
    code, out, err = run(capsys, "graph", "labelled schedule", "--png", str(tmp_path / "a.png"),
                         "--execution", ref)  # fmt: skip
    assert code == 1 and f"Execution {ref} is a run of n8n workflow {hook_id}" in err
    assert not (tmp_path / "a.png").exists()
    code, out, err = run(capsys, "graph", f"Order hook {hook}", "--png",
                         str(tmp_path / "b.png"), "--execution", ref)  # fmt: skip
    assert code == 0, err
    code, _, err = run(capsys, "graph", f"Order hook {hook}", "--png",
                       str(tmp_path / "c.png"), "--execution", "999999999")  # fmt: skip
    assert code == 1 and "has no execution 999999999" in err and "test copy" in err


def test_runs_state_user_prompt_and_validate_follow_the_project(
    cli_env: N8nClient,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    code, _, err = run(capsys, "runs", "--state", "bogus")
    assert code == 1 and "'bogus' is not a run state" in err and "awaiting_input" in err

    # CLIXEN_CLI_USER is taken as given: cli:bob is cli:bob (not cli:cli:bob).
    assert run(capsys, "project", "create", "team")[0] == 0
    assert run(capsys, "project", "add-member", "team", "cli:bob", "viewer")[0] == 0
    monkeypatch.setenv("CLIXEN_CLI_USER", "cli:bob")
    code, out, err = run(capsys, "quota", "--project", "team")
    assert code == 0, err
    assert "cli:bob" in out and "cli:cli:bob" not in out
    monkeypatch.setenv("CLIXEN_CLI_USER", "alice")

    # The active project's policy applies to `validate` and `prompt` (and -p names another).
    assert run(capsys, "project", "use", "team")[0] == 0
    assert run(capsys, "policy", "deny", "n8n-nodes-base.set")[0] == 0
    wf = _write(tmp_path, "w.json", labelled_schedule("p"))
    code, out, _ = run(capsys, "validate", wf)
    assert code == 1 and "error: node_denied" in out and "Edit Fields (Set)" in out
    code, out, _ = run(capsys, "validate", wf, "--no-policy")
    assert code == 0, out
    code, out, _ = run(capsys, "prompt", "--json", "post news", "-p", "team")
    assert code == 0 and json.loads(out)["project"] == "team"
    code, out, _ = run(capsys, "prompt", "post news")
    assert code == 0 and "Project: team" in out


def test_the_cli_prints_answers_not_log_lines(
    cli_env: N8nClient, database_url: str, n8n: N8nStack, tmp_path: Path
) -> None:
    """Run as a person runs it (its own process: what reaches the terminal is all there is)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLIXEN_", "N8N_"))}
    env.update(
        DATABASE_URL=database_url,
        N8N_URL=n8n.url,
        N8N_API_KEY=n8n.api_key,
        CLIXEN_SECRET_KEY="k3y-for-a-cli-subprocess-0123456789",
        CLIXEN_CLI_USER="carol",
    )
    command = [sys.executable, "-c", "import sys; from cli import main; sys.exit(main())"]
    done = subprocess.run(
        [*command, "secret", "set", "SLACK_API", "--type", "slackApi"],
        input="xoxb-a-token\n", env=env, cwd=tmp_path, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Secret SLACK_API saved" in done.stdout
    assert " INFO " not in done.stdout + done.stderr
    assert "core.credentials" not in done.stdout + done.stderr
    verbose = subprocess.run(
        [*command, "-v", "secret", "set", "SLACK_API", "--type", "slackApi"],
        input="xoxb-a-token\n", env=env, cwd=tmp_path, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert verbose.returncode == 0
    assert "INFO core.credentials.secrets: secret SLACK_API of project" in verbose.stderr


def test_connect_without_an_oauth_app_says_so_before_any_link(
    cli_env: N8nClient,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    session_factory: sessionmaker[Session],
) -> None:
    monkeypatch.delenv("CLIXEN_PUBLIC_URL", raising=False)
    get_settings.cache_clear()
    code, _, err = run(capsys, "connect", "google-sheets")
    assert code == 1 and "CLIXEN_PUBLIC_URL" in err and "e.g. https://" in err
    monkeypatch.setenv("CLIXEN_PUBLIC_URL", "https://clixen.example.test")
    get_settings.cache_clear()
    code, out, err = run(capsys, "connect", "google-sheets")
    assert code == 1
    assert "no OAuth app is registered for google" in err
    assert "clixen oauth-app set google" in err and "/oauth/start" not in out
    with session_factory() as s:
        assert s.scalars(select(ConnectRequest)).all() == []


def test_a_picture_too_big_keeps_its_outline_and_validate_flags_the_count(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    nodes = [
        {"name": f"Step {i}", "type": "n8n-nodes-base.noOp", "typeVersion": 1,
         "position": [i * 200, 0], "parameters": {}}
        for i in range(101)
    ]  # fmt: skip
    nodes[0] = {**nodes[0], "type": "n8n-nodes-base.manualTrigger"}
    conns = {f"Step {i}": {"main": [[{"node": f"Step {i + 1}", "type": "main", "index": 0}]]}
             for i in range(100)}  # fmt: skip
    path = _write(tmp_path, "big.json", {"name": "big", "nodes": nodes, "connections": conns})
    code, out, err = run(capsys, "graph", path, "--png", str(tmp_path / "big.png"))
    assert code == 1
    assert "Step 0 → Step 1 → Step 2" in out  # the outline
    assert "101 nodes; pictures are drawn up to 100" in err
    assert not (tmp_path / "big.png").exists()
    code, out, _ = run(capsys, "validate", path, "--no-policy")
    assert code == 1 and "too_many_nodes" in out


def test_deploy_and_test_refusing_an_internal_host_print_the_fix(
    cli_env: N8nClient, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    wf = labelled_schedule("internal")
    wf["nodes"].append(
        {"name": "Call inside", "type": "n8n-nodes-base.httpRequest", "typeVersion": 4.2,
         "position": [440, 0], "parameters": {"url": "http://10.1.2.3/status", "options": {}}}
    )  # fmt: skip
    wf["connections"]["Label"] = {"main": [[{"node": "Call inside", "type": "main", "index": 0}]]}
    path = _write(tmp_path, "inside.json", wf)
    code, _, err = run(capsys, "deploy", path)
    assert code == 1 and "fix:" in err and "clixen policy allow-host 10.1.2.3" in err
    code, out, err = run(capsys, "test", path, "--yes")
    assert code == 1
    assert "clixen policy allow-host 10.1.2.3" in out + err
    assert not any(line.split()[:2] == ["node", "status"] for line in out.splitlines())


def test_the_http_api_401_says_how_to_get_a_token() -> None:
    from core.workspace.api_tokens import InvalidToken

    assert "clixen token create NAME --project PROJECT" in str(InvalidToken())


def test_the_cli_knows_the_embedded_database_without_loading_settings() -> None:
    from cli.context import EMBEDDED_DATABASE
    from core.kernel.settings import DEFAULT_SQLITE_PATH

    assert EMBEDDED_DATABASE == DEFAULT_SQLITE_PATH
