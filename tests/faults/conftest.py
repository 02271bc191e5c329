"""A private n8n for the fault tests: they freeze it (SIGSTOP), resume it (SIGCONT) and kill it,
so it is never the shared one. It shares the installed npm tree (.stack/npm) but has its own
state dir and ports (scripts/n8n_stack.sh with CLIXEN_N8N_STATE_DIR / _PORT / _BROKER_PORT),
is started once per session (again if a test killed it) and stopped at the end."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from core.n8n import N8nClient
from tests.conftest import REPO, _read_env_file


def _free_port() -> str:
    """A local port nothing listens on right now (two runs of the suite never share one)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return str(s.getsockname()[1])


SCRIPT = REPO / "scripts" / "n8n_stack.sh"
# In this checkout's .stack (ignored by git): a second checkout's suite has its own.
STATE_DIR = Path(os.environ.get("CLIXEN_FAULT_N8N_STATE_DIR") or REPO / ".stack" / "faults")
PORT = os.environ.get("CLIXEN_FAULT_N8N_PORT") or _free_port()
BROKER_PORT = os.environ.get("CLIXEN_FAULT_N8N_BROKER_PORT") or _free_port()
# Short client timeouts, so a frozen n8n shows within seconds (production: 30 s).
READ_TIMEOUT_S = 3.0


def _script(*args: str) -> None:
    env = {
        **os.environ,
        "CLIXEN_N8N_STATE_DIR": str(STATE_DIR),
        "CLIXEN_N8N_PORT": PORT,
        "CLIXEN_N8N_BROKER_PORT": BROKER_PORT,
    }
    subprocess.run([str(SCRIPT), *args], check=True, cwd=REPO, env=env, capture_output=True)


@dataclass
class PrivateN8n:
    """The fault tests' own n8n: its URL, API key and main process."""

    url: str
    api_key: str

    @property
    def pid(self) -> int:
        return int((STATE_DIR / "n8n.pid").read_text())

    def client(self) -> N8nClient:
        """A client with short timeouts (READ_TIMEOUT_S) and the usual retries."""
        return N8nClient(self.url, self.api_key, timeout=httpx.Timeout(READ_TIMEOUT_S, connect=2))

    def freeze(self) -> None:
        os.kill(self.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.pid, signal.SIGCONT)

    def kill(self) -> None:
        """SIGKILL n8n and its task runner (its process group): no chance to answer anything."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGKILL)

    def healthy(self) -> bool:
        try:
            return httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def ensure_running(self) -> None:
        if not self.healthy():
            _script("start")
        deadline = time.monotonic() + 120
        while not self.healthy():
            assert time.monotonic() < deadline, "the private n8n did not come back"
            time.sleep(0.5)


@pytest.fixture(scope="session")
def private_n8n_stack() -> Iterator[PrivateN8n]:
    _script("start")
    env = _read_env_file(STATE_DIR / "n8n.env")
    stack = PrivateN8n(env["N8N_URL"], env["N8N_API_KEY"])
    yield stack
    with contextlib.suppress(ProcessLookupError, FileNotFoundError, ValueError):
        stack.resume()  # a test that failed while it was frozen
    _script("stop")


@pytest.fixture
def private_n8n(private_n8n_stack: PrivateN8n) -> Iterator[PrivateN8n]:
    """The private n8n, running and answering (restarted if an earlier test killed it); never
    left frozen by a failing test."""
    private_n8n_stack.ensure_running()
    yield private_n8n_stack
    with contextlib.suppress(ProcessLookupError, FileNotFoundError, ValueError):
        private_n8n_stack.resume()
