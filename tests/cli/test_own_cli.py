"""`clixen pause|resume|rename|runs-of|explain` (and `deactivate`/`activate`) end to end on real
Postgres and the real n8n."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.n8n import N8nClient
from tests.cli.common import run
from tests.workflows import order_hook


def test_pause_resume_rename_runs_and_explain(
    cli_env: N8nClient, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    run(capsys, "project", "create", "ops")
    hook = order_hook("own-cli-orders", "throw new Error('order total is negative');")
    path = tmp_path / "hook.json"
    path.write_text(json.dumps(hook))
    code, out, err = run(capsys, "deploy", str(path), "-p", "ops", "--name", "orders")
    assert code == 0, err
    n8n_id = out.rsplit("(n8n id ", 1)[1].split(")")[0]

    code, out, err = run(capsys, "pause", "orders", "-p", "ops")
    assert code == 0, err
    assert "is paused" in out and cli_env.get_workflow(n8n_id)["active"] is False
    code, out, _ = run(capsys, "deactivate", "orders", "-p", "ops")  # the older name
    assert code == 0 and "already paused; nothing changed" in out
    code, out, err = run(capsys, "activate", "orders", "-p", "ops")
    assert code == 0, err
    assert "running again" in out and cli_env.get_workflow(n8n_id)["active"] is True

    code, out, err = run(capsys, "rename", "orders", "Order checks", "-p", "ops")
    assert code == 0, err
    assert "'orders' is now called 'Order checks'" in out
    assert cli_env.get_workflow(n8n_id)["name"] == "Order checks"

    cli_env.call_webhook("own-cli-orders", json={"total": -1})
    failed = cli_env.wait_for_execution(n8n_id, timeout_s=30)
    assert failed is not None and failed["status"] == "error"
    code, out, err = run(capsys, "runs-of", "Order checks", "-p", "ops")
    assert code == 0, err
    assert str(failed["id"]) in out and "error" in out
    assert "failed at Check order" in out
    png = tmp_path / "run.png"
    code, out, err = run(
        capsys, "runs-of", "Order checks", "-p", "ops", "--execution", str(failed["id"]),
        "--png", str(png),
    )  # fmt: skip
    assert code == 0, err
    assert "order total is negative" in out and png.read_bytes().startswith(b"\x89PNG")

    code, out, err = run(capsys, "explain", "Order checks", "-p", "ops", "--no-ai")
    assert code == 0, err
    assert "Starts when its web address is called (POST /own-cli-orders)" in out
    assert "Check order: Runs custom code" in out

    code, out, _ = run(capsys, "versions", "Order checks", "-p", "ops")
    assert "paused by cli:" in out and "resumed by cli:" in out
    assert "renamed (orders → Order checks) by cli:" in out
    code, out, err = run(capsys, "delete", "Order checks", "-p", "ops")
    assert code == 0, err
    assert "versions are kept" in out
