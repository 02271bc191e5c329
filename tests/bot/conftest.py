"""The bot's real Starlette app on the real database, Slack's Web API faked at the network edge,
and a helper that signs requests exactly as Slack does."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from bot.app import create_app
from bot.server import create_server_app
from bot.services import BotServices
from bot.slack_client import SlackClient
from core.kernel.settings import Settings
from core.n8n import N8nClient
from tests.builders import delete_deployed, pipeline_services
from tests.conftest import N8nStack
from tests.doubles.llm_server import ScriptedLLM
from tests.doubles.slack_api import FakeSlack
from tests.waiting import wait_until

SIGNING_SECRET = "test-signing-secret-0123456789"
TEAM = "T0TEAM"


@dataclass
class SlackSender:
    """Posts signed Slack requests to /slack/events of the app under test."""

    http: TestClient
    slack: FakeSlack
    secret: str = SIGNING_SECRET
    path: str = "/slack/events"
    services: BotServices | None = None

    def settle(self, timeout: float = 60.0) -> None:
        """Returns once everything the requests sent so far set off has finished: the server's
        dispatch threads, the listeners' after-ack work and the runs they started are all idle
        and nothing new was handed to them meanwhile. What has not happened by then will not
        happen: assert on its absence."""
        assert self.services is not None, "settle() needs the bot's services"
        pools = [self.http.app.state.dispatcher, self.services.intake, self.services.executor]

        def quiet() -> bool:
            handed = [p.submitted for p in pools]
            idle = all(p.pending == 0 for p in pools)
            return idle and [p.submitted for p in pools] == handed

        wait_until(quiet, timeout, "the bot was still handling requests")

    def post(
        self,
        body: str,
        content_type: str,
        *,
        timestamp: int | None = None,
        signature: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        ts = str(timestamp if timestamp is not None else int(time.time()))
        base = f"v0:{ts}:{body}".encode()
        sig = signature or "v0=" + hmac.new(self.secret.encode(), base, hashlib.sha256).hexdigest()
        h = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": sig,
            **(headers or {}),
        }
        return self.http.post(self.path, content=body.encode(), headers=h)

    def command(self, text: str, *, user: str = "U1", team: str = TEAM, **kw: Any) -> Any:
        trigger = kw.pop("trigger_id", f"trig-{uuid.uuid4().hex[:8]}")
        form = {
            "token": "legacy",
            "team_id": team,
            "team_domain": "acme",
            "channel_id": "C1",
            "channel_name": "general",
            "user_id": user,
            "user_name": user.lower(),
            "command": "/clixen",
            "text": text,
            "api_app_id": "A1",
            "response_url": f"{self.slack.url}respond",
            "trigger_id": trigger,
        }
        return self.post(urlencode(form), "application/x-www-form-urlencoded", **kw)

    def action(
        self,
        action: dict[str, Any],
        *,
        user: str = "U1",
        team: str = TEAM,
        container: dict[str, Any] | None = None,
        **kw: Any,
    ) -> Any:
        """A button click; by default on an ephemeral message (`container`: another one, e.g.
        the run summary, a message in the channel)."""
        payload = {
            "type": "block_actions",
            "team": {"id": team, "domain": "acme"},
            "user": {"id": user, "username": user.lower(), "team_id": team},
            "api_app_id": "A1",
            "token": "legacy",
            "trigger_id": f"trig-{uuid.uuid4().hex[:8]}",
            "container": container
            or {
                "type": "message",
                "message_ts": "1700000000.000100",
                "channel_id": "C1",
                "is_ephemeral": True,
            },
            "channel": {"id": "C1", "name": "general"},
            "response_url": f"{self.slack.url}respond",
            "actions": [{"action_ts": f"{time.time():.6f}", "block_id": "b1", **action}],
        }
        return self.post(
            urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded", **kw
        )

    def home_action(self, action: dict[str, Any], *, user: str = "U1", team: str = TEAM) -> Any:
        payload = {
            "type": "block_actions",
            "team": {"id": team, "domain": "acme"},
            "user": {"id": user, "team_id": team},
            "api_app_id": "A1",
            "token": "legacy",
            "trigger_id": f"trig-{uuid.uuid4().hex[:8]}",
            "container": {"type": "view", "view_id": "V1"},
            "view": {"id": "V1", "type": "home", "blocks": [], "state": {"values": {}}},
            "actions": [{"action_ts": f"{time.time():.6f}", "block_id": "b1", **action}],
        }
        return self.post(
            urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded"
        )

    def event(
        self,
        event: dict[str, Any],
        *,
        team: str = TEAM,
        event_id: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        body = {
            "token": "legacy",
            "team_id": team,
            "api_app_id": "A1",
            "type": "event_callback",
            "event_id": event_id or f"Ev{uuid.uuid4().hex[:10]}",
            "event_time": int(time.time()),
            "authorizations": [{"team_id": team, "user_id": "UBOT", "is_bot": True}],
            "event": event,
        }
        return self.post(json.dumps(body), "application/json", headers=headers)

    def view_submission(self, view: dict[str, Any], *, user: str = "U1", team: str = TEAM) -> Any:
        payload = {
            "type": "view_submission",
            "team": {"id": team, "domain": "acme"},
            "user": {"id": user, "team_id": team},
            "api_app_id": "A1",
            "token": "legacy",
            "trigger_id": f"trig-{uuid.uuid4().hex[:8]}",
            "view": view,
        }
        return self.post(
            urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded"
        )


BOT_SECRET_KEY = "test-secret-key-for-the-bot-tests-0123456789"


def bot_settings(slack: FakeSlack, database_url: str, **extra: Any) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        CLIXEN_ENV="test",
        DATABASE_URL=database_url,
        SLACK_BOT_TOKEN="xoxb-test-token",
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack.url,
        CLIXEN_SECRET_KEY=BOT_SECRET_KEY,
        **extra,
    )


def make_sender(
    settings: Settings, services: BotServices, slack: FakeSlack
) -> Iterator[SlackSender]:
    client = SlackClient(token=settings.slack_bot_token, base_url=slack.url)
    bolt = create_app(settings=settings, services=services, client=client)
    with TestClient(create_server_app(bolt, signing_secret=settings.slack_signing_secret)) as http:
        yield SlackSender(http, slack, services=services)
    services.shutdown(wait=True)


@pytest.fixture
def bot(
    slack: FakeSlack, database_url: str, session_factory: sessionmaker[Session]
) -> Iterator[SlackSender]:
    """The bot without an LLM (and without n8n): everything but new runs must work."""
    settings = bot_settings(slack, database_url)
    services = BotServices(settings=settings, session_factory=session_factory)
    yield from make_sender(settings, services, slack)


@pytest.fixture
def n8n_client(n8n: N8nStack) -> Iterator[N8nClient]:
    with N8nClient(n8n.url, n8n.api_key) as client:
        yield client


@contextmanager
def pipeline_bot_services(
    slack: FakeSlack,
    database_url: str,
    session_factory: sessionmaker[Session],
    llm: ScriptedLLM,
    n8n: N8nStack,
    n8n_client: N8nClient,
) -> Iterator[BotServices]:
    """Bot services with the pipeline on the scripted LLM and the real n8n; afterwards every
    workflow the test deployed is deleted from n8n."""
    settings = bot_settings(
        slack,
        database_url,
        OPENAI_BASE_URL=llm.url,
        OPENAI_API_KEY="test",
        N8N_URL=n8n.url,
        N8N_API_KEY=n8n.api_key,
    )
    pipeline = pipeline_services(session_factory, n8n_client, llm.url, settings=settings)
    try:
        yield BotServices(
            settings=settings, session_factory=session_factory, pipeline=pipeline, n8n=n8n_client
        )
    finally:
        delete_deployed(session_factory, n8n_client)


@pytest.fixture
def full_bot(
    slack: FakeSlack,
    database_url: str,
    session_factory: sessionmaker[Session],
    llm: ScriptedLLM,
    n8n: N8nStack,
    n8n_client: N8nClient,
) -> Iterator[SlackSender]:
    """The bot with the pipeline: the scripted LLM and the real n8n."""
    with pipeline_bot_services(
        slack, database_url, session_factory, llm, n8n, n8n_client
    ) as services:
        yield from make_sender(services.settings, services, slack)
