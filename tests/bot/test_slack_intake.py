"""What /slack/events takes in before Bolt: a capped body, a signature checked once at arrival
(so a backlog never turns an acknowledged request into a dropped one), and dispatch threads that
listeners leave at once."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import pytest
import slack_sdk.signature
from slack_bolt import Ack, App
from slack_sdk import WebClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from bot.app import create_app
from bot.server import DISPATCH_THREADS, create_server_app
from bot.services import BotServices
from bot.slack_client import SlackClient
from bot.trigger_access import SlackChannelAccess
from bot.triggers import trigger_intake
from core.deploy import create_workflow_record
from core.kernel import db
from core.kernel.models import TriggerDelivery
from core.kernel.vocabulary import WorkflowStatus
from core.triggers.spec import parse_trigger
from core.triggers.subscriptions import plan, replace
from core.workspace.projects import create_project
from tests.bot.conftest import SIGNING_SECRET, TEAM, SlackSender, bot_settings
from tests.doubles.slack_api import FakeSlack, start_fake_slack

# Slack's payloads are a few KiB; /slack/events takes at most this much.
MAX_SLACK_BODY_BYTES = 256 * 1024

# --- the body cap -------------------------------------------------------------------------------


@dataclass
class Upload:
    """A 4 MiB ASGI request body in 64 KiB chunks that counts how many the server pulled."""

    chunk: bytes = b"x" * 65_536
    chunks: int = 64
    pulled: int = 0
    sent: list[dict[str, Any]] = field(default_factory=list)

    async def receive(self) -> dict[str, Any]:
        self.pulled += 1
        more = self.pulled < self.chunks
        return {"type": "http.request", "body": self.chunk, "more_body": more}

    async def send(self, message: dict[str, Any]) -> None:
        self.sent.append(message)

    @property
    def status(self) -> int:
        return int(next(m["status"] for m in self.sent if m["type"] == "http.response.start"))


def _post_upload(app: Any, upload: Upload, headers: list[tuple[bytes, bytes]]) -> None:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/slack/events",
        "raw_path": b"/slack/events",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", b"application/x-www-form-urlencoded"), *headers],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    asyncio.run(app(scope, upload.receive, upload.send))


@pytest.fixture
def server_app(
    slack: FakeSlack, database_url: str, session_factory: sessionmaker[Session]
) -> Iterator[Any]:
    settings = bot_settings(slack, database_url)
    services = BotServices(settings=settings, session_factory=session_factory)
    client = SlackClient(token=settings.slack_bot_token, base_url=slack.url)
    bolt = create_app(settings=settings, services=services, client=client)
    yield create_server_app(bolt, signing_secret=settings.slack_signing_secret)
    services.shutdown(wait=True)


def test_a_declared_oversized_body_gets_413_without_being_read(server_app: Any) -> None:
    upload = Upload()
    _post_upload(server_app, upload, [(b"content-length", str(10 * 1024 * 1024).encode())])
    assert upload.status == 413
    assert upload.pulled == 0


def test_an_undeclared_body_is_cut_off_at_the_cap(server_app: Any) -> None:
    upload = Upload()  # chunked: no Content-Length
    _post_upload(server_app, upload, [])
    assert upload.status == 413
    assert upload.pulled <= MAX_SLACK_BODY_BYTES // len(upload.chunk) + 1


def test_a_signed_body_over_the_cap_is_refused_and_one_under_it_is_served(
    bot: SlackSender, slack: FakeSlack
) -> None:
    padding = "x" * MAX_SLACK_BODY_BYTES
    big = urlencode({"command": "/clixen", "text": "help", "team_id": "T0TEAM", "pad": padding})
    response = bot.post(big, "application/x-www-form-urlencoded")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert bot.command("help").status_code == 200
    slack.wait_for("respond")


def test_a_malformed_content_length_is_refused(bot: SlackSender) -> None:
    response = bot.http.post(
        "/slack/events",
        content=b"x=1",
        headers={"Content-Type": "application/x-www-form-urlencoded", "Content-Length": "+3"},
    )
    # Either the HTTP layer or the server refuses it; never a 5xx and never a listener.
    assert 400 <= response.status_code < 500


# --- verified once, at arrival ------------------------------------------------------------------


class Backlog:
    """Listeners that hold both dispatch threads until released: a backlog in front of Bolt."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.entered = threading.Semaphore(0)

    def hold(self, ack: Ack) -> None:
        ack()
        self.entered.release()
        self.release.wait(30)


@pytest.fixture
def backlogged(
    slack: FakeSlack, database_url: str, session_factory: sessionmaker[Session]
) -> Iterator[tuple[SlackSender, Backlog]]:
    settings = bot_settings(slack, database_url)
    services = BotServices(settings=settings, session_factory=session_factory)
    client = SlackClient(token=settings.slack_bot_token, base_url=slack.url)
    bolt: App = create_app(settings=settings, services=services, client=client)
    backlog = Backlog()
    bolt.event("reaction_removed")(backlog.hold)
    try:
        server = create_server_app(bolt, signing_secret=settings.slack_signing_secret)
        with TestClient(server) as http:
            yield SlackSender(http, slack, services=services), backlog
            backlog.release.set()
    finally:
        backlog.release.set()
        services.shutdown(wait=True)


def _hold_every_dispatch_thread(sender: SlackSender, backlog: Backlog) -> None:
    for _ in range(DISPATCH_THREADS):
        event = {"type": "reaction_removed", "user": "U1", "reaction": "eyes", "item": {}}
        assert sender.event(event).status_code == 200
    for _ in range(DISPATCH_THREADS):
        assert backlog.entered.acquire(timeout=5), "the backlog never formed"


def test_a_request_processed_long_after_arrival_still_runs(
    backlogged: tuple[SlackSender, Backlog], slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    sender, backlog = backlogged
    _hold_every_dispatch_thread(sender, backlog)
    # Arrives now, fresh and correctly signed: acknowledged, then queued behind the backlog.
    assert sender.command("help").status_code == 200
    # Six minutes pass before a dispatch thread is free (every signature clock moves on).
    later = time.time() + 360
    monkeypatch.setattr(slack_sdk.signature.Clock, "now", lambda self: later)
    backlog.release.set()
    reply = slack.wait_for("respond", timeout=10)[0]
    assert "/clixen rollback" in str(reply.args)


def test_a_stale_request_is_still_refused_at_arrival(
    backlogged: tuple[SlackSender, Backlog], slack: FakeSlack
) -> None:
    sender, _ = backlogged
    assert sender.command("help", timestamp=int(time.time()) - 301).status_code == 401
    body = "command=%2Fclixen&text=help"
    forged = "v0=" + hmac.new(b"not-the-secret", body.encode(), hashlib.sha256).hexdigest()
    assert (
        sender.post(body, "application/x-www-form-urlencoded", signature=forged).status_code == 401
    )
    sender.settle()
    assert slack.named("respond") == []


def test_the_server_refuses_to_serve_slack_without_verifying_it(
    slack: FakeSlack, database_url: str, session_factory: sessionmaker[Session]
) -> None:
    settings = bot_settings(slack, database_url)
    services = BotServices(settings=settings, session_factory=session_factory)
    bolt = create_app(settings=settings, services=services)
    with pytest.raises(ValueError, match="signing"):
        create_server_app(bolt, signing_secret=None)
    assert SIGNING_SECRET  # the bot fixtures always pass it


# --- listeners leave the dispatch threads at once ----------------------------------------------


@dataclass
class SlowSlack(FakeSlack):
    """The Slack fake, with some Web API methods held until the test lets them answer."""

    held: frozenset[str] = frozenset()
    gate: threading.Event = field(default_factory=threading.Event)

    def respond(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        if method in self.held:
            self.gate.wait(30)
        return super().respond(method, args)


@pytest.fixture
def slow_slack() -> Iterator[SlowSlack]:
    fake = SlowSlack(held=frozenset({"views.publish", "respond", "chat.postMessage"}))
    server = start_fake_slack(fake)
    yield fake
    fake.gate.set()
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("surface", ["app_home_opened", "versions_button", "home_page_button"])
def test_slow_slack_calls_never_hold_the_dispatch_threads(
    slow_slack: SlowSlack,
    database_url: str,
    session_factory: sessionmaker[Session],
    surface: str,
) -> None:
    settings = bot_settings(slow_slack, database_url)
    services = BotServices(settings=settings, session_factory=session_factory)
    client = SlackClient(token=settings.slack_bot_token, base_url=slow_slack.url)
    bolt = create_app(settings=settings, services=services, client=client)
    reached = threading.Event()
    bolt.event("reaction_removed")(lambda ack: (ack(), reached.set()))
    try:
        with TestClient(create_server_app(bolt, signing_secret=SIGNING_SECRET)) as http:
            sender = SlackSender(http, slow_slack)
            for _ in range(DISPATCH_THREADS):
                if surface == "app_home_opened":
                    sender.event({"type": "app_home_opened", "user": "U1", "tab": "home"})
                elif surface == "versions_button":
                    sender.action(
                        {"action_id": "workflow_versions", "type": "button", "value": "1"}
                    )
                else:
                    sender.home_action(
                        {"action_id": "home_page_next", "type": "button", "value": "not json"}
                    )
            # Both slow calls are under way (or queued); a third request still reaches Bolt.
            sender.event({"type": "reaction_removed", "user": "U1", "reaction": "eyes", "item": {}})
            assert reached.wait(5), "a slow Slack call held the dispatch threads"
            slow_slack.gate.set()
    finally:
        slow_slack.gate.set()
        services.shutdown(wait=True)


# --- an acknowledged trigger event is already stored --------------------------------------------


SUPPORT, TS = "C0SUPPORT", "1765100000.000100"


def _listening_workflow(
    factory: sessionmaker[Session], slack: FakeSlack, *, user: str = "U1"
) -> int:
    """An active workflow whose Slack trigger listens to 🎫 reactions in #support."""
    slack.public_channels["support"] = SUPPORT
    slack.members[SUPPORT] = {user}
    with factory.begin() as s:
        project = create_project(session=s, team_id=TEAM, name="main", creator_user_id=user)
        wf = create_workflow_record(
            session=s, project_id=project.id, name="tickets", created_by=user
        )
        wf.status, wf.head_version = WorkflowStatus.active, 1
        wf_id = wf.id
    spec = parse_trigger(
        {"name": "T", "parameters": {"events": ["reaction_added"], "channels": ["#support"]}}
    )
    access = SlackChannelAccess(WebClient(base_url=slack.url), cache_s=0)
    listens = plan(spec, user_id=user, access=access)
    with factory.begin() as s:
        replace(s, workflow_id=wf_id, team_id=TEAM, plan=listens, version=1)
    return wf_id


def _stored(factory: sessionmaker[Session], event_id: str) -> list[TriggerDelivery]:
    with factory() as s:
        return list(s.scalars(select(TriggerDelivery).where(TriggerDelivery.event_id == event_id)))


def test_a_trigger_event_is_in_the_outbox_when_slack_gets_its_ack_and_a_retry_adds_nothing(
    slack: FakeSlack, database_url: str, session_factory: sessionmaker[Session]
) -> None:
    """The process may die right after the ack (here: every dispatch thread is busy, so Bolt has
    not even seen the event): what Slack was told we have is stored already."""
    wf_id = _listening_workflow(session_factory, slack)
    settings = bot_settings(slack, database_url)
    services = BotServices(settings=settings, session_factory=session_factory)
    client = SlackClient(token=settings.slack_bot_token, base_url=slack.url)
    bolt: App = create_app(settings=settings, services=services, client=client)
    backlog = Backlog()
    bolt.event("reaction_removed")(backlog.hold)
    server = create_server_app(
        bolt,
        signing_secret=settings.slack_signing_secret,
        store_event=trigger_intake(services, client),
    )
    reaction = {
        "type": "reaction_added",
        "user": "U2",
        "reaction": "ticket",
        "item": {"type": "message", "channel": SUPPORT, "ts": TS},
    }
    try:
        with TestClient(server) as http:
            sender = SlackSender(http, slack, services=services)
            _hold_every_dispatch_thread(sender, backlog)
            assert sender.event(reaction, event_id="EvStored1").status_code == 200
            (row,) = _stored(session_factory, "EvStored1")
            assert row.workflow_id == wf_id and row.status == "pending"
            # Slack sends it again (say our 200 was lost): acknowledged, nothing more stored.
            again = sender.event(reaction, event_id="EvStored1", headers={"X-Slack-Retry-Num": "1"})
            assert again.status_code == 200
            backlog.release.set()
            sender.settle()
            assert len(_stored(session_factory, "EvStored1")) == 1
    finally:
        backlog.release.set()
        services.shutdown(wait=True)


def test_a_replayed_request_within_the_signature_window_is_not_handled_twice(
    bot: SlackSender, slack: FakeSlack
) -> None:
    """Someone who captured a signed request sends it again, byte for byte, within Slack's five
    minutes: answered, not handled again. The same click signed anew (Slack's own retry) is."""
    stamp = int(time.time())
    assert bot.command("help", trigger_id="trig-replayed", timestamp=stamp).status_code == 200
    assert bot.command("help", trigger_id="trig-replayed", timestamp=stamp).status_code == 200
    bot.settle()
    assert len(slack.named("respond")) == 1
    assert bot.command("help", trigger_id="trig-replayed", timestamp=stamp + 1).status_code == 200
    bot.settle()
    assert len(slack.named("respond")) == 2


def test_a_trigger_event_that_cannot_be_stored_is_not_acknowledged_and_its_retry_is_taken(
    slack: FakeSlack, database_url: str, session_factory: sessionmaker[Session]
) -> None:
    """The database is down when the event arrives: 500, so Slack sends it again (nothing was
    acknowledged that is not stored); the retry — even byte for byte — is stored once it is up."""
    wf_id = _listening_workflow(session_factory, slack)
    settings = bot_settings(slack, database_url)
    down = db.make_engine("postgresql+psycopg://clixen@127.0.0.1:1/nowhere")
    services = BotServices(settings=settings, session_factory=db.make_session_factory(down))
    client = SlackClient(token=settings.slack_bot_token, base_url=slack.url)
    bolt = create_app(settings=settings, services=services, client=client)
    server = create_server_app(
        bolt,
        signing_secret=settings.slack_signing_secret,
        store_event=trigger_intake(services, client),
    )
    reaction = {
        "type": "reaction_added",
        "user": "U2",
        "reaction": "ticket",
        "item": {"type": "message", "channel": SUPPORT, "ts": TS},
    }
    body = json.dumps(
        {
            "team_id": TEAM,
            "api_app_id": "A1",
            "type": "event_callback",
            "event_id": "EvDown1",
            "event_time": int(time.time()),
            "authorizations": [{"team_id": TEAM, "user_id": "UBOT", "is_bot": True}],
            "event": reaction,
        }
    )
    stamp = int(time.time())
    try:
        with TestClient(server) as http:
            sender = SlackSender(http, slack, services=services)
            refused = sender.post(body, "application/json", timestamp=stamp)
            assert refused.status_code == 500
            assert refused.json()["error"]["code"] == "not_stored"
            assert _stored(session_factory, "EvDown1") == []
            services.session_factory = session_factory  # the database is back
            again = sender.post(body, "application/json", timestamp=stamp)
            assert again.status_code == 200
            (row,) = _stored(session_factory, "EvDown1")
            assert row.workflow_id == wf_id
    finally:
        services.shutdown(wait=True)
        down.dispose()
