"""`clixen test W`: run a deployed workflow (or a JSON file) now and print each node's result."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from core.kernel.settings import get_settings
from core.n8n import N8nClient
from core.run_now import TEST_PREFIX
from core.scheduler.smoke import local_smoke_endpoints
from tests.cli.common import run
from tests.core.test_run_now import _chain, _node, rss_code, schedule_http_code
from tests.core.test_run_now_gate import KEY, header_call
from tests.doubles.http_sink import HttpSink


def write(tmp_path: Path, wf: dict[str, Any]) -> str:
    path = tmp_path / "wf.json"
    path.write_text(json.dumps(wf))
    return str(path)


def copies_left(client: N8nClient, name: str) -> list[str]:
    """Test copies of the workflow `name` still in n8n (the n8n is shared: only ours count)."""
    names = [str(w["name"]) for w in client.list_workflows(limit=250)["data"]]
    return [n for n in names if n == TEST_PREFIX + name]


def test_a_deployed_rss_workflow_runs_now_with_a_table(
    cli_env: N8nClient, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with local_smoke_endpoints(["Fresh news", "Old news"]) as feed:
        wf = rss_code(feed.feed_url, "return [{json: {headline: $json.title}}];")
        assert run(capsys, "project", "create", "news")[0] == 0
        # The test feed is served on the loopback: an internal host the owner must allow.
        assert run(capsys, "policy", "allow-host", "127.0.0.1")[0] == 0
        code, _, err = run(capsys, "deploy", write(tmp_path, wf), "--name", "digest")
        assert code == 0, err
        code, out, err = run(capsys, "test", "digest", "--yes")
    assert code == 0, out + err
    assert "Format: Code (its code can send requests)" in out
    lines = out.splitlines()
    assert lines[2].split()[:3] == ["node", "status", "items"]
    assert any(line.startswith("New article") and "the newest item of" in line for line in lines)
    assert any(line.startswith("Format") and '{"headline": "Fresh news"}' in line for line in lines)
    assert "test run succeeded" in out
    assert copies_left(cli_env, "digest") == []


def test_outside_effects_are_listed_and_need_a_yes(
    cli_env: N8nClient, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with HttpSink() as sink:
        wf = schedule_http_code(sink.url("/ping"), "throw new Error('bad day');")
        path = write(tmp_path, wf)
        code, out, err = run(capsys, "test", path)
        assert code == 1 and "Fetch status: HTTP Request GET" in out
        assert "confirm with --yes" in err and sink.requests == []
        # A file runs in the active project, under its policy: the loopback is not allowed yet.
        code, out, _ = run(capsys, "test", path, "--yes")
        assert code == 1 and sink.requests == []
        assert "test run refused" in out and "was not run" in out and "127.0.0.1" in out
        assert run(capsys, "policy", "allow-host", "127.0.0.1")[0] == 0
        code, out, _ = run(capsys, "test", path, "--yes")
        assert [r.path for r in sink.requests] == ["/ping"]
    assert code == 1
    assert any(line.startswith("Summarise") and "failed" in line for line in out.splitlines())
    assert "test run error at Summarise: bad day" in out
    assert copies_left(cli_env, wf["name"]) == []


def test_a_sample_that_is_not_an_object_is_refused(
    cli_env: N8nClient, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = write(tmp_path, schedule_http_code("https://example.com", "return $input.all();"))
    code, _, err = run(capsys, "test", path, "--sample", "[1]", "--yes")
    assert code == 1 and "must be a JSON object" in err


def test_code_that_can_send_requests_needs_a_yes(
    cli_env: N8nClient, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with HttpSink() as sink:
        js = (
            f"await this.helpers.httpRequest({{method: 'POST', url: '{sink.url('/leak')}'}});\n"
            "return [{json: {sent: true}}];"
        )
        wf = _chain(
            "Leaky",
            _node("Every hour", "scheduleTrigger", 1.2, {"rule": {"interval": [{}]}}, 0),
            _node("Format", "code", 2, {"jsCode": js}, 200),
        )
        path = write(tmp_path, wf)
        code, out, err = run(capsys, "test", path)
        assert code == 1 and "Format: Code (its code can send requests)" in out
        assert "confirm with --yes" in err and sink.requests == []


def test_a_file_runs_with_this_projects_credentials_only(
    cli_env: N8nClient,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A credential named in the file but not the project's is refused before n8n sees it."""
    monkeypatch.setenv("CLIXEN_SECRET_KEY", KEY)
    get_settings.cache_clear()
    with HttpSink() as sink:
        assert run(capsys, "policy", "allow-host", "127.0.0.1")[0] == 0
        wf = header_call(sink.url("/steal"), {"name": "some other team's token"})
        code, out, err = run(capsys, "test", write(tmp_path, wf), "--yes")
        assert sink.requests == []
    assert code == 1 and "test run refused" in out, out + err
    assert "httpHeaderAuth" in out and "clixen secret set" in out
    assert copies_left(cli_env, wf["name"]) == []
