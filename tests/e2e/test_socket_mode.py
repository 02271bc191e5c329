"""`clixen serve` in Socket Mode, as a team starting out runs it: the real process connects to a
local fake of Slack's Socket Mode (tests/doubles/socket_mode.py), acks every envelope, answers
`/clixen help`, turns a request into a deployed workflow (scripted LLM, real n8n), rolls it back
from the buttons, and reconnects when the socket drops."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.deploy import deploy_version
from core.kernel.models import WorkflowVersion
from core.kernel.settings import get_settings
from core.n8n import N8nClient
from core.workspace.projects import Actor
from tests.builders import delete_deployed
from tests.conftest import N8nStack
from tests.doubles.llm_server import ScriptedLLM
from tests.doubles.slack_api import start_fake_slack
from tests.doubles.socket_mode import FakeSocketMode, SocketModeSlack
from tests.waiting import wait_until
from tests.workflows import answer, schedule_workflow

TEAM, USER = "T0SOCKET", "U1"
APP_TOKEN = "xapp-1-A1-test"
SOCKET_SECRET_KEY = "test-secret-key-for-the-socket-tests-0123456789"
CLIXEN_MAIN = "import sys; from cli import main; sys.exit(main())"


@dataclass
class SocketApp:
    """The running `clixen serve` process and the two fakes it talks to."""

    slack: SocketModeSlack
    socket: FakeSocketMode
    proc: subprocess.Popen[bytes]
    log: Path

    def deliver(self, type_: str, payload: dict[str, Any]) -> Any:
        """Send one envelope; the ack's payload once the app acknowledged it."""
        return self.socket.wait_ack(self.socket.send(type_, payload))

    def command(self, text: str) -> Any:
        return self.deliver(
            "slash_commands",
            {
                "token": "legacy",
                "team_id": TEAM,
                "team_domain": "acme",
                "channel_id": "C1",
                "channel_name": "general",
                "user_id": USER,
                "user_name": "u1",
                "command": "/clixen",
                "text": text,
                "api_app_id": "A1",
                "response_url": f"{self.slack.url}respond",
                "trigger_id": f"trig-{uuid.uuid4().hex[:8]}",
            },
        )

    def action(self, action: dict[str, Any]) -> Any:
        return self.deliver(
            "interactive",
            {
                "type": "block_actions",
                "team": {"id": TEAM, "domain": "acme"},
                "user": {"id": USER, "username": "u1", "team_id": TEAM},
                "api_app_id": "A1",
                "token": "legacy",
                "trigger_id": f"trig-{uuid.uuid4().hex[:8]}",
                "container": {
                    "type": "message",
                    "message_ts": "1700000000.000100",
                    "channel_id": "C1",
                    "is_ephemeral": True,
                },
                "channel": {"id": "C1", "name": "general"},
                "response_url": f"{self.slack.url}respond",
                "actions": [{"action_ts": f"{time.time():.6f}", "block_id": "b1", **action}],
            },
        )

    def event(self, event: dict[str, Any]) -> Any:
        return self.deliver(
            "events_api",
            {
                "token": "legacy",
                "team_id": TEAM,
                "api_app_id": "A1",
                "type": "event_callback",
                "event_id": f"Ev{uuid.uuid4().hex[:10]}",
                "event_time": int(time.time()),
                "authorizations": [{"team_id": TEAM, "user_id": "UBOT", "is_bot": True}],
                "event": event,
            },
        )

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def socket_app(
    tmp_path: Path,
    database_url: str,
    session_factory: sessionmaker[Session],
    n8n: N8nStack,
    n8n_client: N8nClient,
    llm: ScriptedLLM,
) -> Iterator[SocketApp]:
    fake_socket = FakeSocketMode().start()
    slack = SocketModeSlack(ws_url=fake_socket.url, team_id=TEAM)
    server = start_fake_slack(slack)
    port = _free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "OPENAI_", "CLIXEN_", "DATABASE_URL", "N8N_"))
    }
    env.update(
        CLIXEN_ENV="test",
        DATABASE_URL=database_url,
        SLACK_BOT_TOKEN="xoxb-test-token",
        SLACK_APP_TOKEN=APP_TOKEN,
        SLACK_API_URL=slack.url,
        OPENAI_BASE_URL=llm.url,
        OPENAI_API_KEY="test",
        N8N_URL=n8n.url,
        N8N_API_KEY=n8n.api_key,
        N8N_MCP_COMMAND="",
        CLIXEN_SECRET_KEY=SOCKET_SECRET_KEY,
        PORT=str(port),
        HOST="127.0.0.1",
        # A dropped socket is given up after five failed pings: 5 s here instead of 50 s.
        CLIXEN_SOCKET_MODE_PING_INTERVAL_S="1",
    )
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", CLIXEN_MAIN, "serve"],
            env=env,
            cwd=tmp_path,  # no .env of the developer's checkout
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    app = SocketApp(slack, fake_socket, proc, log)
    try:

        def healthy() -> bool:
            assert proc.poll() is None, app.output()
            try:
                return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
            except httpx.TransportError:
                return False

        wait_until(healthy, 60, "clixen serve did not answer /healthz")
        fake_socket.wait_connected(1)
        yield app
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        fake_socket.stop()
        server.shutdown()
        server.server_close()
        delete_deployed(session_factory, n8n_client)


def _text(call: Any) -> str:
    return json.dumps(call.args, ensure_ascii=False)


def _summary(slack: SocketModeSlack, needle: str, timeout: float = 90.0) -> dict[str, Any]:
    def seen() -> str:
        calls = [
            (c.method, c.args.get("text")) for c in slack.calls if c.method.startswith("chat.")
        ]
        return f"no chat.update containing {needle!r}; Slack saw {calls}"

    return slack.wait_for_text("chat.update", needle, timeout=timeout, message=seen).args


def _buttons(blocks: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {e["action_id"]: e for b in blocks if b["type"] == "actions" for e in b["elements"]}


def test_socket_mode_help_request_rollback_and_reconnect(
    socket_app: SocketApp,
    llm: ScriptedLLM,
    session_factory: sessionmaker[Session],
    n8n_client: N8nClient,
) -> None:
    slack = socket_app.slack
    opened = slack.named("apps.connections.open")
    assert len(opened) == 1
    assert opened[0].headers.get("Authorization") == f"Bearer {APP_TOKEN}"

    # /clixen help: acked on the socket, answered privately through response_url.
    socket_app.command("help")
    reply = slack.wait_for("respond")[0]
    assert reply.args["response_type"] == "ephemeral" and "/clixen rollback" in _text(reply)

    # A request through to a deployed, active workflow (then a version 2 to roll back from).
    llm.script(answer(schedule_workflow("Morning news")))
    socket_app.command("create every morning post the news")
    summary = _summary(slack, "is active")
    assert "version 1" in json.dumps(summary["blocks"], ensure_ascii=False)
    wf_id = int(_buttons(summary["blocks"])["workflow_versions"]["value"])
    v2 = deploy_version(
        session_factory=session_factory,
        n8n=n8n_client,
        workflow_id=wf_id,
        json_payload=schedule_workflow("Morning news v2"),
        source="edit",
        actor=Actor(TEAM, USER),
        settings=get_settings(),
    )
    assert v2.version == 2

    # The rollback buttons: pick v1, then confirm.
    socket_app.action(
        {
            "action_id": "rollback_select",
            "type": "static_select",
            "selected_option": {
                "value": f"{wf_id}:1",
                "text": {"type": "plain_text", "text": "v1"},
            },
        }
    )
    picked = slack.wait_for("respond", 2)[1]
    confirm = _buttons(picked.args["blocks"])["rollback_confirm"]
    socket_app.action(
        {"action_id": "rollback_confirm", "type": "button", "value": confirm["value"]}
    )
    rolled = slack.wait_for("respond", 3)[2]
    assert "rolled *Morning news" in _text(rolled)
    with session_factory() as s:
        versions = s.scalars(
            select(WorkflowVersion.source)
            .where(WorkflowVersion.workflow_id == wf_id)
            .order_by(WorkflowVersion.version)
        ).all()
    assert list(versions)[-1] == "rollback" and len(versions) == 3

    # Slack asks for a reconnect (as it does every few hours), then the socket drops without a
    # word: each time the app opens a new connection and keeps answering.
    socket_app.socket.refresh()
    socket_app.socket.wait_connected(2, timeout=30)
    socket_app.command("help")
    assert "/clixen rollback" in _text(slack.wait_for("respond", 4)[3])
    socket_app.socket.drop()
    socket_app.socket.wait_connected(3, timeout=60)
    # At least one new connection per reconnect (a ping lost on a loaded machine may add one).
    assert len(slack.named("apps.connections.open")) >= 3
    socket_app.command("help")
    assert "/clixen rollback" in _text(slack.wait_for("respond", 5)[4])
    assert socket_app.proc.poll() is None, socket_app.output()


def test_sigterm_closes_the_socket_cleanly_and_exits_0(socket_app: SocketApp) -> None:
    """A stopping replica says goodbye on its socket (Slack then sends to the other replicas'
    sockets) and exits 0, not by the signal."""
    socket_app.proc.send_signal(signal.SIGTERM)
    assert socket_app.proc.wait(timeout=60) == 0, socket_app.output()
    assert socket_app.socket.closed_by_app == 1, socket_app.output()
