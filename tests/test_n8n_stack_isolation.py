"""scripts/n8n_stack.sh keeps its secrets and other people's data (issue 20): no secret on any
command line (the encryption key and the database password were on `env`'s argv, readable in
/proc/*/cmdline), n8n starts with the listed environment only (it inherited the caller's whole
environment: SLACK_BOT_TOKEN, OPENAI_API_KEY, …), in queue mode it connects as a role that owns its
database and nothing else (it was the postgres superuser), and `start --queue` never drops a
database (or reuses a role) that lacks this state dir's marker (it dropped any it had not recorded).

Each test runs its own instance: a temporary state dir, free ports, its own Postgres database and
role and Redis key prefix, stopped and dropped at the end; the shared n8n is never touched. `env`
and `psql` are found through a directory first on PATH whose wrappers record their arguments and
run the real programs, so every command line the script runs with a secret is seen."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from core.n8n import N8nClient
from tests.conftest import PG_ADMIN, REPO, _read_env_file
from tests.workflows import WORKS, order_hook

# Each test starts n8n instances of its own (and Postgres roles, Redis keys): integration tier.
pytestmark = pytest.mark.integration

SCRIPT = REPO / "scripts" / "n8n_stack.sh"
# What a caller's environment may hold; none of it may reach n8n.
CALLER_SECRETS = {
    "SLACK_BOT_TOKEN": "xoxb-canary-" + uuid.uuid4().hex,
    "OPENAI_API_KEY": "sk-canary" + uuid.uuid4().hex,
}
# The whole environment n8n may start with (scripts/n8n_stack.sh n8n_environment, hardening_env,
# queue_env and the worker's three): names only, no secret among the values.
ALLOWED = {
    "PATH",
    "HOME",
    "LANG",
    "N8N_USER_FOLDER",
    "N8N_PORT",
    "N8N_LISTEN_ADDRESS",
    "N8N_HOST",
    "N8N_PROTOCOL",
    "N8N_WEBHOOK_URL",
    "N8N_EDITOR_BASE_URL",
    "N8N_SKIP_AUTH_ON_OAUTH_CALLBACK",
    "N8N_RUNNERS_BROKER_PORT",
    "N8N_RUNNERS_BROKER_LISTEN_ADDRESS",
    "N8N_DIAGNOSTICS_ENABLED",
    "N8N_VERSION_NOTIFICATIONS_ENABLED",
    "N8N_TEMPLATES_ENABLED",
    "N8N_PERSONALIZATION_ENABLED",
    "N8N_SECURE_COOKIE",
    "N8N_ENFORCE_SETTINGS_FILE_PERMISSIONS",
    "N8N_PUBLIC_API_DISABLED",
    "N8N_PUBLIC_API_SWAGGERUI_DISABLED",
    "NODES_EXCLUDE",
    "N8N_SSRF_PROTECTION_ENABLED",
    "N8N_SSRF_ALLOWED_IP_RANGES",
    "DB_TYPE",
    "EXECUTIONS_MODE",
    "OFFLOAD_MANUAL_EXECUTIONS_TO_WORKERS",
    "QUEUE_BULL_REDIS_HOST",
    "QUEUE_BULL_REDIS_PORT",
    "QUEUE_BULL_REDIS_DB",
    "QUEUE_BULL_PREFIX",
    "DB_POSTGRESDB_HOST",
    "DB_POSTGRESDB_PORT",
    "DB_POSTGRESDB_USER",
    "DB_POSTGRESDB_PASSWORD_FILE",
    "DB_POSTGRESDB_DATABASE",
    "N8N_ENCRYPTION_KEY_FILE",
    "QUEUE_HEALTH_CHECK_ACTIVE",
    "QUEUE_HEALTH_CHECK_PORT",
    "N8N_WORKER_SERVER_ADDRESS",
}


def free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def admin_sql(sql: str, *args: object) -> list[tuple[object, ...]]:
    with psycopg.connect(make_conninfo(PG_ADMIN, dbname="postgres"), autocommit=True) as conn:
        cur = conn.execute(sql, args)  # type: ignore[arg-type]
        return cur.fetchall() if cur.description else []


@dataclass
class Stack:
    """One instance of the script: its state dir, environment and recorded command lines."""

    state: Path
    env: dict[str, str]
    argv_log: Path

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(SCRIPT), *args],
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,
            check=check,
        )

    def pid(self, name: str = "n8n") -> int:
        return int((self.state / f"{name}.pid").read_text())

    def command_lines(self) -> str:
        """Every argument `env` and `psql` were run with, NUL-separated."""
        return self.argv_log.read_text() if self.argv_log.exists() else ""


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    shims = tmp_path / "shims"
    shims.mkdir()
    log = tmp_path / "argv.log"
    for program in ("env", "psql"):
        real = shutil.which(program)
        assert real, f"{program} is not installed"
        shim = shims / program
        shim.write_text(
            f"#!/bin/sh\nprintf '%s\\0' \"$0\" \"$@\" >>'{log}'\nexec '{real}' \"$@\"\n"
        )
        shim.chmod(0o755)
    main, broker, worker, worker_broker = free_ports(4)
    tag = uuid.uuid4().hex[:10]
    env = {
        **os.environ,
        **CALLER_SECRETS,
        "PATH": f"{shims}:{os.environ['PATH']}",
        "CLIXEN_N8N_STATE_DIR": str(tmp_path / "state"),
        "CLIXEN_N8N_PORT": str(main),
        "CLIXEN_N8N_BROKER_PORT": str(broker),
        "CLIXEN_N8N_WORKER_PORT": str(worker),
        "CLIXEN_N8N_WORKER_BROKER_PORT": str(worker_broker),
        "CLIXEN_N8N_WORKERS": "1",
        "CLIXEN_N8N_PG_DATABASE": f"clixen_stack_test_{tag}",
        "CLIXEN_N8N_BULL_PREFIX": f"clixen_stack_test_{tag}",
    }
    s = Stack(tmp_path / "state", env, log)
    yield s
    for mode in ((), ("--queue",)):
        s.run("stop", *mode, check=False)
    db = env["CLIXEN_N8N_PG_DATABASE"]
    admin_sql(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
    admin_sql(f'DROP ROLE IF EXISTS "{db}"')
    drop_redis_keys(env["CLIXEN_N8N_BULL_PREFIX"])


def drop_redis_keys(prefix: str) -> None:
    """The queue's keys of this test's prefix (the stack's Redis, 127.0.0.1:6379)."""
    cli = shutil.which("redis-cli")
    if cli is None:
        return
    keys = subprocess.run(
        [cli, "--scan", "--pattern", f"{prefix}:*"], capture_output=True, text=True, check=True
    ).stdout.split()
    if keys:
        subprocess.run([cli, "del", *keys], capture_output=True, check=True)


def environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    pairs = [item.decode().split("=", 1) for item in raw if b"=" in item]
    return {k: v for k, v in pairs}


def ancestry_cmdlines(pid: int) -> str:
    """The command lines of `pid` and of its parents up to init."""
    out = []
    while pid > 1:
        proc = Path(f"/proc/{pid}")
        out.append((proc / "cmdline").read_bytes().decode(errors="replace"))
        pid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
    return "\n".join(out)


def assert_clean(pid: int, secrets: list[str]) -> None:
    env = environ(pid)
    assert set(env) <= ALLOWED, sorted(set(env) - ALLOWED)
    values = "\n".join(env.values()) + ancestry_cmdlines(pid)
    for secret in [*secrets, *CALLER_SECRETS.values()]:
        assert secret not in values


def test_single_process_n8n_starts_with_the_listed_environment_only(stack: Stack) -> None:
    stack.run("start")
    assert_clean(stack.pid(), [])
    assert "SLACK_BOT_TOKEN" not in stack.command_lines()
    # The Code node's task runner still gets what it needs.
    env = _read_env_file(stack.state / "n8n.env")
    path = f"clixen-env-{uuid.uuid4().hex[:8]}"
    with N8nClient(env["N8N_URL"], env["N8N_API_KEY"]) as client:
        wid = client.create_workflow(order_hook(path, WORKS))["id"]
        client.activate(wid)
        assert client.call_webhook(path, json={"total": 1}).status_code == 200
        execution = client.wait_for_execution(wid, timeout_s=60)
    assert execution is not None and execution["status"] == "success", execution


def test_queue_mode_keeps_key_and_password_off_command_lines_and_runs_as_its_own_role(
    stack: Stack,
) -> None:
    stack.run("start", "--queue")
    key = (stack.state / "encryption.key").read_text().strip()
    password = (stack.state / "pg_role.password").read_text().strip()
    assert len(key) >= 32 and len(password) >= 32
    lines = stack.command_lines()
    assert "psql" in lines and "setsid" in lines  # the wrappers saw the script's commands
    assert key not in lines and password not in lines
    for pid in (stack.pid(), stack.pid("worker-1")):
        assert_clean(pid, [key, password])
        assert "N8N_ENCRYPTION_KEY" not in environ(pid)
        assert "DB_POSTGRESDB_PASSWORD" not in environ(pid)
    db = stack.env["CLIXEN_N8N_PG_DATABASE"]
    [(owner, comment)] = admin_sql(
        "SELECT pg_get_userbyid(datdba), shobj_description(oid, 'pg_database') "
        "FROM pg_database WHERE datname = %s",
        db,
    )
    assert owner == db and comment == (stack.state / "pg.marker").read_text().strip()
    [(superuser, createdb, createrole)] = admin_sql(
        "SELECT rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = %s", db
    )
    assert (superuser, createdb, createrole) == (False, False, False)
    users = {u for (u,) in admin_sql("SELECT usename FROM pg_stat_activity WHERE datname = %s", db)}
    assert users == {db}  # main and worker connect as the role, not as postgres


def test_start_queue_never_drops_a_database_or_reuses_a_role_it_did_not_create(
    stack: Stack,
) -> None:
    db = stack.env["CLIXEN_N8N_PG_DATABASE"]
    admin_sql(f'CREATE DATABASE "{db}"')
    with psycopg.connect(make_conninfo(PG_ADMIN, dbname=db), autocommit=True) as conn:
        conn.execute("CREATE TABLE precious (id int)")
    done = stack.run("start", "--queue", check=False)
    assert done.returncode != 0
    assert "not created for" in done.stderr and "DROP DATABASE" in done.stderr
    with psycopg.connect(make_conninfo(PG_ADMIN, dbname=db)) as conn:
        assert conn.execute("SELECT count(*) FROM precious").fetchone() == (0,)
    assert not (stack.state / "n8n.pid").exists()

    admin_sql(f'DROP DATABASE "{db}"')
    admin_sql(f'CREATE ROLE "{db}" LOGIN')
    done = stack.run("start", "--queue", check=False)
    assert done.returncode != 0 and f"role {db} exists but was not created for" in done.stderr
    assert admin_sql("SELECT 1 FROM pg_database WHERE datname = %s", db) == []
