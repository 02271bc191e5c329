"""Readiness on the real services: the database (answers, schema at head), n8n's API with the
configured key, the n8n-mcp command. Not ready → /readyz says what, runs are refused, scheduled
ticks are left to other replicas; fixed → ready again."""

from __future__ import annotations

import socket
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.testclient import TestClient

from api.operations import operation_routes
from core.kernel import db
from core.kernel.models import JobRun, PipelineRun
from core.kernel.settings import Settings
from core.n8n import N8nClient
from core.n8n.session import N8nUserSession
from core.observability.readiness import (
    NotReady,
    ReadinessProbe,
    database_check,
    mcp_check,
    n8n_check,
    n8n_sign_in_check,
)
from core.pipeline import start_run
from core.scheduler.locks import run_once_per_tick
from tests.builders import new_project, pipeline_services
from tests.conftest import N8nStack, create_database, drop_database
from tests.doubles.llm_server import ScriptedLLM


def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def readyz(probe: ReadinessProbe) -> tuple[int, dict]:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    app = Starlette(routes=operation_routes(settings=settings, readiness=probe))
    with TestClient(app) as http:
        response = http.get("/readyz")
    return response.status_code, response.json()


@pytest.fixture
def fresh_database(database_url: str) -> Iterator[str]:  # database_url: Postgres is up
    url = create_database("clixen_ready")
    yield url
    drop_database(url)


def test_database_unreachable_or_missing_is_not_ready(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    unreachable = db.make_engine(f"postgresql+psycopg://postgres@127.0.0.1:{closed_port()}/x")
    missing = db.make_engine(database_url.rsplit("/", 1)[0] + "/clixen_no_such_database")
    for engine in (unreachable, missing):
        status, body = readyz(ReadinessProbe({"database": database_check(engine)}, ttl_s=0))
        assert status == 503
        assert body["not_ready"] == ["database"]
        assert body["checks"] == {"database": {"ok": False}}
        assert "does not answer" in caplog.text
        caplog.clear()
        engine.dispose()


def test_database_behind_head_is_not_ready_until_upgraded(
    fresh_database: str, caplog: pytest.LogCaptureFixture
) -> None:
    engine = db.make_engine(fresh_database)
    probe = ReadinessProbe({"database": database_check(engine)}, ttl_s=0)
    status, body = readyz(probe)
    assert status == 503
    assert "clixen db upgrade" in caplog.text and "upgrade" not in str(body)
    db.upgrade(fresh_database)
    status, body = readyz(probe)
    assert (status, body["status"], body["not_ready"]) == (200, "ready", [])
    engine.dispose()


def test_n8n_unreachable_or_wrong_key_is_not_ready(
    n8n: N8nStack, caplog: pytest.LogCaptureFixture
) -> None:
    wrong_key = n8n_check(n8n.url, "not-the-key")
    address = f"127.0.0.1:{closed_port()}"
    unreachable = n8n_check(f"http://{address}", n8n.api_key)
    status, body = readyz(ReadinessProbe({"n8n": wrong_key}, ttl_s=0))
    assert status == 503 and "refused the API key" in caplog.text
    assert "not-the-key" not in str(body) + caplog.text
    status, body = readyz(ReadinessProbe({"n8n": unreachable}, ttl_s=0))
    assert status == 503 and "does not answer" in caplog.text
    status, body = readyz(ReadinessProbe({"n8n": n8n_check(n8n.url, n8n.api_key)}, ttl_s=0))
    assert status == 200 and body["checks"]["n8n"] == {"ok": True}


def test_readyz_names_checks_with_ok_or_not_and_no_detail(n8n: N8nStack, database_url: str) -> None:
    """The public body tells what is down, never where it is or what it raised."""
    address = f"127.0.0.1:{closed_port()}"
    missing = db.make_engine(database_url.rsplit("/", 1)[0] + "/clixen_no_such_database")
    probe = ReadinessProbe(
        {"database": database_check(missing), "n8n": n8n_check(f"http://{address}", "k")},
        ttl_s=0,
    )
    status, body = readyz(probe)
    missing.dispose()
    assert status == 503
    assert body == {
        "status": "not ready",
        "not_ready": ["database", "n8n"],
        "checks": {"database": {"ok": False}, "n8n": {"ok": False}},
    }


def test_the_n8n_user_that_cannot_sign_in_is_not_ready(
    n8n: N8nStack, n8n_user: N8nUserSession, caplog: pytest.LogCaptureFixture
) -> None:
    # Another login than the owner's: n8n limits sign-ins per user, and others share this n8n.
    with N8nUserSession(n8n.url, "nobody@clixen.invalid", "not-the-password") as wrong:
        status, body = readyz(ReadinessProbe({"n8n_sign_in": n8n_sign_in_check(wrong)}, ttl_s=0))
    assert status == 503 and body["not_ready"] == ["n8n_sign_in"]
    assert "cannot sign in" in caplog.text and "not-the-password" not in caplog.text
    status, body = readyz(ReadinessProbe({"n8n_sign_in": n8n_sign_in_check(n8n_user)}, ttl_s=0))
    assert status == 200 and body["checks"] == {"n8n_sign_in": {"ok": True}}


def test_mcp_command_unavailable_then_installed(n8n: N8nStack, tmp_path: Path) -> None:
    assert n8n.mcp_command, "the n8n stack names its n8n-mcp command (N8N_MCP_COMMAND)"
    launcher = tmp_path / "n8n-mcp"
    probe = ReadinessProbe({"mcp": mcp_check(str(launcher), timeout_s=60)}, ttl_s=0)
    status, body = readyz(probe)
    assert status == 503 and body["not_ready"] == ["mcp"]
    # Installed: the same command now starts n8n-mcp, and the next probe says ready.
    launcher.write_text(f'#!/bin/sh\nexec {n8n.mcp_command} "$@"\n')
    launcher.chmod(launcher.stat().st_mode | stat.S_IXUSR)
    status, body = readyz(probe)
    assert status == 200, body


def test_a_check_runs_once_per_ttl(database_url: str) -> None:
    engine = db.make_engine(database_url)
    calls: list[int] = []
    real = database_check(engine)

    def counted() -> str | None:
        calls.append(1)
        return real()

    probe = ReadinessProbe({"database": counted}, ttl_s=3600)
    assert all(probe.is_ready() for _ in range(5))
    assert len(calls) == 1
    engine.dispose()


def test_a_replica_that_is_not_ready_refuses_new_runs(
    session_factory: sessionmaker[Session], n8n_client: N8nClient, llm: ScriptedLLM, n8n: N8nStack
) -> None:
    project_id = new_project(session_factory, team_id="T1", user_id="U1")
    services = pipeline_services(session_factory, n8n_client, llm.url)
    services.readiness = ReadinessProbe({"n8n": n8n_check(n8n.url, "not-the-key")}, ttl_s=0)
    with pytest.raises(NotReady) as refused:
        start_run(services, team_id="T1", user_id="U1", project_id=project_id, request="news")
    assert "n8n is not available" in str(refused.value)
    assert "try again" in str(refused.value)
    with session_factory() as session:
        assert session.scalar(select(func.count(PipelineRun.id))) == 0
    services.readiness = ReadinessProbe({"n8n": n8n_check(n8n.url, n8n.api_key)}, ttl_s=0)
    run, created = start_run(
        services, team_id="T1", user_id="U1", project_id=project_id, request="news"
    )
    assert created and run.state == "queued"


def test_a_replica_that_is_not_ready_takes_no_scheduled_job(
    session_factory: sessionmaker[Session], n8n: N8nStack
) -> None:
    ran: list[str] = []
    tick = "2026-12-03T10:00:00+00:00"
    not_ready = ReadinessProbe({"n8n": n8n_check(n8n.url, "not-the-key")}, ttl_s=0)
    result = run_once_per_tick(
        session_factory=session_factory,
        job="demo",
        tick=tick,
        body=lambda: ran.append("not ready") or {},
        runner="replica-a",
        ready=not_ready.is_ready,
    )
    assert (result.ran, result.skipped_because, ran) == (False, "not ready", [])
    with session_factory() as session:
        assert session.scalar(select(func.count(JobRun.id))) == 0  # the tick is still free
    ready = ReadinessProbe({"n8n": n8n_check(n8n.url, n8n.api_key)}, ttl_s=0)
    result = run_once_per_tick(
        session_factory=session_factory,
        job="demo",
        tick=tick,
        body=lambda: ran.append("ready") or {},
        runner="replica-b",
        ready=ready.is_ready,
    )
    assert result.ran and ran == ["ready"]


def test_in_background_a_probe_answers_from_cache_while_the_check_reruns(
    fresh_database: str,
) -> None:
    engine = db.make_engine(fresh_database)
    probe = ReadinessProbe({"database": database_check(engine)}, ttl_s=0, in_background=True)
    assert probe.status().failing == ["database"]  # the first answer is computed at once
    db.upgrade(fresh_database)
    # Later answers come from the cache; a background rerun brings the new state.
    deadline = time.monotonic() + 30
    while not probe.is_ready():
        assert time.monotonic() < deadline, probe.status().body()
        time.sleep(0.05)
    engine.dispose()
