"""`clixen serve` never leaves its n8n-mcp child behind: not when Slack cannot be reached at
start (it says what failed and where, without a traceback), not when it is killed (SIGKILL: no
code of ours runs). The n8n-mcp processes are counted by a mark on their command line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import httpx

from tests.conftest import N8nStack
from tests.core.test_validation_mcp import mcp_command as mcp_command  # the fixture
from tests.doubles.slack_api import FakeSlack
from tests.e2e.test_serve import _clixen, _env, _free_port
from tests.waiting import wait_until


def _running_with(mark: str) -> list[int]:
    """Pids of live processes whose command line carries `mark`."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().split(") ", 1)[1][:1]
        except OSError:
            continue
        if mark.encode() in cmdline and state != "Z":
            pids.append(int(entry.name))
    return pids


def _serve_env(tmp_path: Path, n8n: N8nStack, mcp: str, mark: str) -> dict[str, str]:
    env = _env(tmp_path, n8n, "development", _free_port())
    env.update(
        # n8n-mcp ignores arguments other than `telemetry`: the mark only names the process.
        N8N_MCP_COMMAND=f"{mcp} {mark}",
        OPENAI_API_KEY="test",
        OPENAI_BASE_URL="http://127.0.0.1:9/v1",  # never called: no request is sent
        OPENAI_MODEL="scripted",
        SLACK_BOT_TOKEN="xoxb-test-token",
        SLACK_SIGNING_SECRET="signing-secret-for-tests",
    )
    subprocess.run(_clixen("db", "upgrade"), env=env, cwd=tmp_path, check=True, timeout=120)
    return env


def test_serve_that_cannot_reach_slack_says_where_and_leaves_no_child(
    tmp_path: Path, n8n: N8nStack, mcp_command: str
) -> None:
    mark = f"--clixen-test-{uuid.uuid4().hex}"
    env = _serve_env(tmp_path, n8n, mcp_command, mark)
    nowhere = f"http://127.0.0.1:{_free_port()}/api/"
    env["SLACK_API_URL"] = nowhere
    try:
        done = subprocess.run(
            _clixen("serve"), env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 1, done.stdout + done.stderr
        assert f"The Slack Web API at {nowhere} did not answer auth.test" in done.stderr
        assert "SLACK_API_URL" in done.stderr and "Traceback" not in done.stderr
        wait_until(lambda: not _running_with(mark), 30, f"n8n-mcp ({mark}) outlived serve")
    finally:
        for pid in _running_with(mark):  # only on failure: never leak them into other tests
            os.kill(pid, signal.SIGKILL)


def test_a_killed_serve_leaves_no_n8n_mcp_behind(
    tmp_path: Path, n8n: N8nStack, mcp_command: str, slack: FakeSlack
) -> None:
    mark = f"--clixen-test-{uuid.uuid4().hex}"
    env = _serve_env(tmp_path, n8n, mcp_command, mark)
    env["SLACK_API_URL"] = slack.url
    proc = subprocess.Popen(
        _clixen("serve"),
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{env['PORT']}"

    def mcp_ready() -> bool:
        try:
            checks = httpx.get(f"{base}/readyz", timeout=2).json()["checks"]
        except (httpx.TransportError, ValueError, KeyError):
            return False
        return bool(checks.get("mcp", {}).get("ok"))

    try:
        # serve holds n8n-mcp from the start (the pipeline's validator, warmed up), past its
        # handshake: the readiness check's own one has completed one too, and closed it.
        wait_until(mcp_ready, 90, "clixen serve never reported n8n-mcp ready")
        children = wait_until(lambda: _running_with(mark), 30, "no n8n-mcp is held")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        wait_until(
            lambda: not _running_with(mark),
            30,
            f"n8n-mcp {children} kept running after clixen serve was killed",
        )
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pid in _running_with(mark):  # only on failure: never leak them into other tests
            os.kill(pid, signal.SIGKILL)


def test_a_killed_process_takes_its_n8n_mcp_with_it(mcp_command: str) -> None:
    """Any process of ours that holds n8n-mcp (serve, scheduler, a CLI run): SIGKILLed after
    the handshake, with the server idle, the server goes too."""
    mark = f"--clixen-test-{uuid.uuid4().hex}"
    holder = (
        "import sys, time\n"
        "from core.validation.mcp import McpValidator\n"
        "v = McpValidator(sys.argv[1])\n"
        "v.start()\n"
        "print('ready', flush=True)\n"
        "time.sleep(600)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", holder, f"{mcp_command} {mark}"],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        children = _running_with(mark)
        assert children
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        wait_until(lambda: not _running_with(mark), 30, f"n8n-mcp {children} outlived its holder")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pid in _running_with(mark):
            os.kill(pid, signal.SIGKILL)
