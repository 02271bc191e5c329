"""The queue-mode n8n (scripts/n8n_stack.sh start --queue): one main process, workers pulling
executions from Redis, n8n's own database in Postgres. Reused when it runs; otherwise started
here with two workers and stopped again at the end of the session."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO, _read_env_file

SCRIPT = REPO / "scripts" / "n8n_stack.sh"
QUEUE_WORKERS = 2


@dataclass(frozen=True)
class QueueStack:
    url: str
    api_key: str
    state_dir: Path
    workers: int

    @property
    def main_log(self) -> Path:
        return self.state_dir / "n8n.log"

    def worker_log(self, i: int) -> Path:
        return self.state_dir / f"worker-{i}.log"

    def worker_pid(self, i: int) -> int:
        return int((self.state_dir / f"worker-{i}.pid").read_text())

    @property
    def pg_database(self) -> str:
        """n8n's Postgres database: CLIXEN_N8N_PG_DATABASE, else named after the state dir's id
        (scripts/n8n_stack.sh: `clixen_n8n_queue_<first 8 of pg.marker's id>`)."""
        if name := os.environ.get("CLIXEN_N8N_PG_DATABASE"):
            return name
        state_id = (self.state_dir / "pg.marker").read_text().split()[1][:8]
        return f"clixen_n8n_queue_{state_id}"


def stack_script(*args: str, **env: str) -> str:
    """Run scripts/n8n_stack.sh `args` --queue; its stdout."""
    done = subprocess.run(
        [str(SCRIPT), *args, "--queue"],
        check=True,
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
    )
    return done.stdout


def queue_state_dir() -> Path:
    return Path(os.environ.get("CLIXEN_N8N_STATE_DIR", REPO / ".stack" / "queue"))


@pytest.fixture(scope="session")
def queue_n8n() -> Iterator[QueueStack]:
    """The queue-mode stack, ready (a dead worker is started again)."""
    started = not stack_script("status").startswith("running")
    stack_script("start", **({"CLIXEN_N8N_WORKERS": str(QUEUE_WORKERS)} if started else {}))
    state = queue_state_dir()
    env = _read_env_file(state / "n8n.env")
    workers = int((state / "n8n.workers").read_text())
    yield QueueStack(env["N8N_URL"], env["N8N_API_KEY"], state, workers)
    if started:
        stack_script("stop")
