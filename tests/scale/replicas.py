"""`clixen serve` replicas for the scale tests and benchmarks/scale_out.py: real processes on one
product Postgres, talking to the scripted LLM, a fake Slack and the real n8n."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.bot.conftest import SIGNING_SECRET, SlackSender
from tests.doubles.slack_api import FakeSlack
from tests.waiting import wait_until
from tests.workflows import answer, schedule_workflow

CLIXEN_MAIN = "import sys; from cli import main; sys.exit(main())"
SLOW_S = 6.0


@dataclass
class Replica:
    proc: subprocess.Popen[bytes]
    sender: SlackSender
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def scripted_answer(body: dict[str, Any]) -> dict[str, Any]:
    """A workflow named after the request's number; a "slow" request takes SLOW_S to answer."""
    text = "\n".join(str(m.get("content", "")) for m in body.get("messages", []))
    if "slow report" in text:
        time.sleep(SLOW_S)
    numbers = re.findall(r"report number (\d+)", text)
    return answer(schedule_workflow(f"Report {numbers[-1] if numbers else 'x'}"))


def start_replica(tmp_path: Path, name: str, env: dict[str, str], slack: FakeSlack) -> Replica:
    port = _free_port()
    log = tmp_path / f"{name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", CLIXEN_MAIN, "serve"],
            env={**env, "PORT": str(port)},
            cwd=tmp_path,  # no .env of the developer's checkout
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    http = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10)
    replica = Replica(proc, SlackSender(http, slack), log)  # type: ignore[arg-type]

    def healthy() -> bool:
        assert proc.poll() is None, replica.output()
        try:
            return http.get("/healthz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    wait_until(healthy, 60, f"{name} did not answer /healthz")
    return replica


def serve_env(
    *, database_url: str, slack_url: str, llm_url: str, n8n_url: str, n8n_api_key: str
) -> dict[str, str]:
    """The environment of a `clixen serve` replica in HTTP mode (no .env of the checkout)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "OPENAI_", "CLIXEN_", "DATABASE_URL", "N8N_"))
    }
    env.update(
        CLIXEN_ENV="test",
        DATABASE_URL=database_url,
        SLACK_BOT_TOKEN="xoxb-test-token",
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack_url,
        OPENAI_BASE_URL=llm_url,
        OPENAI_API_KEY="test",
        N8N_URL=n8n_url,
        N8N_API_KEY=n8n_api_key,
        N8N_MCP_COMMAND="",
        CLIXEN_SECRET_KEY="test-secret-key-for-the-replica-tests-0123456789",
        CLIXEN_DAILY_DEPLOYS="1000",
        CLIXEN_DAILY_TOKENS="100000000",
        # A claim not renewed for 10 s is taken over; recovery looks every 2 s.
        CLIXEN_RECOVERY_STALE_S="10",
        CLIXEN_RECOVERY_INTERVAL_S="2",
        HOST="127.0.0.1",
    )
    return env


def drain(replicas: list[Replica], timeout: float = 60.0) -> None:
    """Stops the replicas as Ctrl-C does and waits until they have exited. Interrupted, a replica
    stops taking requests, hands every one it acknowledged to its listener, and before its
    interpreter exits (0, or 130 when the interrupt reaches the CLI) finishes the work its pools
    still hold: once this returns, nothing more comes from them. (SIGTERM is no proof: uvicorn
    re-raises it after its own shutdown, which kills the process with work still queued.)"""
    for r in replicas:
        r.proc.send_signal(signal.SIGINT)
    for r in replicas:
        code = r.proc.wait(timeout=timeout)
        assert code in (0, 130), f"replica {r.proc.pid} exited with {code}: {r.output()}"


def stop_replicas(replicas: list[Replica]) -> None:
    for r in replicas:
        if r.proc.poll() is None:
            r.proc.send_signal(signal.SIGTERM)
    for r in replicas:
        try:
            r.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            r.proc.kill()
