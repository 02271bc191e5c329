"""`clixen validate`: one JSON line per file; exit 0 valid, 1 invalid, 2 unreadable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli import main
from tests.core.test_validation import canonical


def write(tmp_path: Path, name: str, content: object) -> str:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return str(path)


def lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    return [json.loads(x) for x in capsys.readouterr().out.splitlines()]


def test_valid_file_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = write(tmp_path, "ok.json", canonical())
    assert main(["validate", "--json", f]) == 0
    assert lines(capsys) == [{"file": f, "valid": True, "errors": [], "warnings": []}]


def test_invalid_file_exits_1_with_codes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wf = canonical()
    wf["nodes"][1]["type"] = "rssFeedRead"
    ok = write(tmp_path, "ok.json", canonical())
    bad = write(tmp_path, "bad.json", wf)
    assert main(["validate", "--json", ok, bad]) == 1
    out = lines(capsys)
    assert [o["valid"] for o in out] == [True, False]
    err = out[1]["errors"][0]  # type: ignore[index]
    assert err["code"] == "unknown_node_type" and err["node"] == "Read feed"


def test_denied_node_fails_by_default(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    wf = canonical()
    wf["nodes"][1].update(type="n8n-nodes-base.readWriteFile", typeVersion=1, parameters={})
    f = write(tmp_path, "host.json", wf)
    assert main(["validate", "--json", f]) == 1
    assert "node_denied" in [e["code"] for e in lines(capsys)[0]["errors"]]  # type: ignore[union-attr]


def test_unreadable_files_exit_2_and_still_print_a_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ok = write(tmp_path, "ok.json", canonical())
    broken = write(tmp_path, "broken.json", "{not json")
    missing = str(tmp_path / "missing.json")
    assert main(["validate", "--json", ok, broken, missing]) == 2
    out = lines(capsys)
    assert [o["file"] for o in out] == [ok, broken, missing]
    for o in out[1:]:
        assert o["valid"] is False
        assert o["errors"][0]["code"] == "unreadable"  # type: ignore[index]


def test_human_output_names_the_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    wf = canonical()
    wf["connections"]["Ghost"] = {"main": [[{"node": "Read feed", "type": "main", "index": 0}]]}
    f = write(tmp_path, "ghost.json", wf)
    assert main(["validate", f]) == 1
    text = capsys.readouterr().out
    assert "INVALID" in text and "dangling_connection" in text and "fix:" in text


def test_usage_error_exits_2() -> None:
    with pytest.raises(SystemExit) as e:
        main(["validate"])
    assert e.value.code == 2


def test_n8ns_slack_trigger_is_invalid_with_why_and_how_and_clixens_is_valid(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 25: `clixen validate` called n8n's Slack Trigger valid (it only asked for a
    `slackApi` secret); with Clixen's app it can never fire."""
    wf = canonical()
    trigger = wf["nodes"][0]
    trigger.update(
        type="n8n-nodes-base.slackTrigger",
        typeVersion=1,
        parameters={
            "trigger": ["message"],
            "channelId": {"__rl": True, "mode": "id", "value": "C0SUPPORT"},
        },
    )
    n8ns = write(tmp_path, "n8ns.json", wf)
    trigger.update(
        type="clixen.slackTrigger",
        parameters={"events": ["message"], "channels": ["#support"], "contains": "urgent"},
    )
    ours = write(tmp_path, "ours.json", wf)
    assert main(["validate", "--json", n8ns, ours]) == 1
    refused, fine = lines(capsys)
    codes = [e["code"] for e in refused["errors"]]  # type: ignore[index,union-attr]
    assert "slack_trigger_never_fires" in codes
    error = next(e for e in refused["errors"] if e["code"] == "slack_trigger_never_fires")  # type: ignore[union-attr,index]
    assert "one request URL" in error["message"] and "clixen.slackTrigger" in error["hint"]
    assert fine["valid"] is True, fine
