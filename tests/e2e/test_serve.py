"""`clixen serve` as users run it: one server app for /slack/events, /healthz and the HTTP API;
without Slack settings it still serves in development (503 on /slack/events naming what to set)
and refuses to start in production (exit 2)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from bot.cli import build_server
from bot.services import BotServices
from core.deploy import create_workflow_record
from core.kernel.errors import SettingsError
from core.kernel.settings import Settings
from core.n8n import N8nClient
from core.workspace import api_tokens
from core.workspace.projects import create_project
from tests.bot.conftest import TEAM, SlackSender, bot_settings
from tests.conftest import N8nStack
from tests.doubles.slack_api import FakeSlack
from tests.waiting import wait_until

REPO = Path(__file__).resolve().parents[2]
SECURE = {
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
}
SLACK_VARS = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET")


def _tokens(factory: sessionmaker[Session]) -> tuple[str, str, int]:
    """Projects A (with a workflow) and B in two workspaces; one API token each."""
    with factory.begin() as s:
        a = create_project(session=s, team_id=TEAM, name="alpha", creator_user_id="U1")
        b = create_project(session=s, team_id="T0OTHER", name="beta", creator_user_id="U9")
        s.flush()
        wf = create_workflow_record(session=s, project_id=a.id, name="digest", created_by="U1")
        ta = api_tokens.create_token(session=s, project_id=a.id, name="ci", created_by="U1")
        tb = api_tokens.create_token(session=s, project_id=b.id, name="ci", created_by="U9")
        return ta.raw, tb.raw, wf.id


def _assert_secure(resp: httpx.Response) -> None:
    for name, value in SECURE.items():
        assert resp.headers.get(name) == value, name
    assert "max-age=" in resp.headers["strict-transport-security"]


def test_one_server_app_serves_slack_events_and_the_http_api(
    slack: FakeSlack,
    database_url: str,
    session_factory: sessionmaker[Session],
    n8n_client: N8nClient,
) -> None:
    settings = bot_settings(slack, database_url)
    services = BotServices(settings=settings, session_factory=session_factory, n8n=n8n_client)
    server = build_server(settings, services)
    assert server.bolt_app is not None and server.missing == []
    token_a, token_b, wf_id = _tokens(session_factory)
    with TestClient(server.http_app) as http:
        # Slack, signed as Slack signs, through the same app…
        sender = SlackSender(http, slack)
        assert sender.command("help").status_code == 200
        slack.wait_for("respond")
        assert http.get("/healthz").json() == {"status": "ok"}
        # …and the HTTP API beside it, project-scoped, with secure headers.
        listed = http.get("/api/v1/workflows", headers={"Authorization": f"Bearer {token_a}"})
        assert listed.status_code == 200
        assert [w["id"] for w in listed.json()["items"]] == [wf_id]
        _assert_secure(listed)
        other = http.get("/api/v1/workflows", headers={"Authorization": f"Bearer {token_b}"})
        assert other.status_code == 200 and other.json()["items"] == []
        foreign = http.post(
            f"/api/v1/workflows/{wf_id}/rollback",
            json={"version": 1},
            headers={"Authorization": f"Bearer {token_b}"},
        )
        assert foreign.status_code == 404 and foreign.json()["error"]["code"] == "not_found"
        _assert_secure(foreign)
        anonymous = http.get("/api/v1/workflows")
        assert anonymous.status_code == 401
        _assert_secure(anonymous)
    services.shutdown()


def _no_slack_settings(database_url: str, environment: str, n8n: N8nStack) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        CLIXEN_ENV=environment,
        DATABASE_URL=database_url,
        N8N_URL=n8n.url,
        N8N_API_KEY=n8n.api_key,
        SLACK_BOT_TOKEN="",
        SLACK_SIGNING_SECRET="",
        SLACK_APP_TOKEN="",
    )


def test_without_slack_development_answers_503_and_production_refuses(
    database_url: str,
    session_factory: sessionmaker[Session],
    n8n: N8nStack,
    n8n_client: N8nClient,
) -> None:
    dev = _no_slack_settings(database_url, "development", n8n)
    services = BotServices(settings=dev, session_factory=session_factory, n8n=n8n_client)
    server = build_server(dev, services)
    assert server.bolt_app is None and server.missing == list(SLACK_VARS)
    with TestClient(server.http_app) as http:
        resp = http.post("/slack/events", content=b"{}")
        assert resp.status_code == 503
        error = resp.json()["error"]
        assert error["code"] == "slack_not_configured"
        assert error["missing"] == list(SLACK_VARS)
        assert "SLACK_SIGNING_SECRET (Slack signing secret" in error["message"]
        assert http.get("/healthz").status_code == 200
        assert http.get("/api/v1/workflows").status_code == 401  # the API is up
    prod = _no_slack_settings(database_url, "production", n8n)
    with pytest.raises(SettingsError) as err:
        build_server(prod, BotServices(settings=prod, session_factory=session_factory))
    assert all(f"{name} is not set" in str(err.value) for name in SLACK_VARS)


# --- the real command, as scripts/run.sh runs it -------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(tmp_path: Path, n8n: N8nStack, environment: str, port: int) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "OPENAI_", "CLIXEN_", "DATABASE_URL", "N8N_"))
    }
    env.update(
        CLIXEN_ENV=environment,
        DATABASE_URL=f"sqlite:///{tmp_path / 'clixen.sqlite3'}",
        N8N_URL=n8n.url,
        N8N_API_KEY=n8n.api_key,
        N8N_MCP_COMMAND="",
        PORT=str(port),
        HOST="127.0.0.1",
    )
    return env


def _clixen(*args: str) -> list[str]:
    return [sys.executable, "-c", "import sys; from cli import main; sys.exit(main())", *args]


@pytest.fixture
def dev_server(tmp_path: Path, n8n: N8nStack) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    yield from _serving(tmp_path, n8n)


def _serving(
    tmp_path: Path, n8n: N8nStack, **extra: str
) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """`clixen serve` in development on a fresh SQLite database, once /healthz answers."""
    port = _free_port()
    env = {**_env(tmp_path, n8n, "development", port), **extra}
    subprocess.run(_clixen("db", "upgrade"), env=env, cwd=tmp_path, check=True, timeout=120)
    proc = subprocess.Popen(
        _clixen("serve"),
        env=env,
        cwd=tmp_path,  # no .env of the developer's checkout
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:

        def healthy() -> bool:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            try:
                return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
            except httpx.TransportError:
                return False

        wait_until(healthy, 60, "clixen serve did not answer /healthz")
        yield base, proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_clixen_serve_on_a_fresh_machine_runs_without_slack(
    dev_server: tuple[str, subprocess.Popen[str]],
) -> None:
    base, proc = dev_server
    slack = httpx.post(
        f"{base}/slack/events",
        content=urlencode({"command": "/clixen", "text": "help"}),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert slack.status_code == 503
    body: dict[str, Any] = slack.json()
    assert body["error"]["missing"] == list(SLACK_VARS)
    api = httpx.get(f"{base}/api/v1/workflows")
    assert api.status_code == 401 and api.json()["error"]["code"] == "unauthorized"
    _assert_secure(api)
    state, code = "live-state-Zq81xN0p", "oauth-code-4hT7wQ2e"
    httpx.get(f"{base}/oauth/start", params={"state": state, "code": code})
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=20)
    assert "GET /oauth/start?…" in out, out  # the access log names the path, not the query
    assert state not in out and code not in out
    banner = [line for line in out.splitlines() if "SLACK NOT CONFIGURED" in line]
    assert len(banner) == 1, out
    assert "SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET" in banner[0]


def test_clixen_serve_in_production_without_slack_exits_2(tmp_path: Path, n8n: N8nStack) -> None:
    env = _env(tmp_path, n8n, "production", _free_port())
    done = subprocess.run(
        _clixen("serve"), env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "SLACK_BOT_TOKEN is not set: Slack bot token" in done.stderr
    assert "SLACK_SIGNING_SECRET is not set: Slack signing secret" in done.stderr
    assert json.dumps(done.stderr).count("Traceback") == 0


def test_clixen_serve_answers_readyz_metrics_behind_its_token_and_logs_json(
    tmp_path: Path, n8n: N8nStack
) -> None:
    token = "scrape-token-0123456789abcdef"
    serving = _serving(tmp_path, n8n, CLIXEN_METRICS_TOKEN=token, CLIXEN_LOG_FORMAT="json")
    base, proc = next(serving)
    try:
        ready = httpx.get(f"{base}/readyz", timeout=30)
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"]["database"]["ok"] and ready.json()["checks"]["n8n"]["ok"]
        assert httpx.get(f"{base}/metrics").status_code == 401
        scrape = httpx.get(f"{base}/metrics", headers={"Authorization": f"Bearer {token}"})
        assert scrape.status_code == 200
        samples = {
            s.name: s.value
            for family in text_string_to_metric_families(scrape.text)
            for s in family.samples
        }
        assert samples["clixen_ready"] == 1
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=20)
    finally:
        serving.close()
    lines = [line for line in out.splitlines() if line.strip()]
    assert lines and all(json.loads(line)["level"] for line in lines), out
    assert token not in out
