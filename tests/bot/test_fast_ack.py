"""The server acknowledges events, slash commands and button clicks before Bolt runs; modal
submissions and URL verification still get Bolt's answer in the response body."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from slack_bolt import Ack, App
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from bot.app import create_app
from bot.server import create_server_app, request_kind
from bot.services import BotServices
from bot.slack_client import SlackClient
from tests.bot.conftest import SlackSender, bot_settings
from tests.doubles.slack_api import FakeSlack


class Gate:
    """A listener that acks only once the test opens the gate, and records that it ran."""

    def __init__(self) -> None:
        self.opened = threading.Event()
        self.entered = threading.Event()
        self.done = threading.Event()

    def listener(self, ack: Ack) -> None:
        self.entered.set()
        self.opened.wait(10)
        ack()
        self.done.set()


@pytest.fixture
def gated(
    slack: FakeSlack, database_url: str, session_factory: sessionmaker[Session]
) -> Iterator[tuple[SlackSender, Gate]]:
    """The real bot app with three extra listeners that block until the test lets them ack."""
    settings = bot_settings(slack, database_url)
    services = BotServices(settings=settings, session_factory=session_factory)
    client = SlackClient(token=settings.slack_bot_token, base_url=slack.url)
    bolt: App = create_app(settings=settings, services=services, client=client)
    gate = Gate()
    bolt.command("/slow")(gate.listener)
    bolt.action("slow_button")(gate.listener)
    bolt.event("reaction_removed")(gate.listener)  # an event no listener of ours takes
    server = create_server_app(bolt, signing_secret=settings.slack_signing_secret)
    try:
        with TestClient(server) as http:
            yield SlackSender(http, slack), gate
            gate.opened.set()  # let a still-blocked listener finish before the pools close
    finally:
        gate.opened.set()
        services.shutdown(wait=True)


def _send(sender: SlackSender, kind: str) -> Any:
    if kind == "slash_command":
        form = {"command": "/slow", "text": "", "team_id": "T0TEAM", "user_id": "U1"}
        form |= {"channel_id": "C1", "trigger_id": "trig-slow", "response_url": "x"}
        return sender.post(urlencode(form), "application/x-www-form-urlencoded")
    if kind == "block_actions":
        return sender.action({"action_id": "slow_button", "type": "button", "value": "1"})
    event = {"type": "reaction_removed", "user": "U1", "reaction": "eyes", "item": {}}
    return sender.event(event)


@pytest.mark.parametrize("kind", ["slash_command", "block_actions", "event_callback"])
def test_acknowledged_before_the_listener_acks(gated: tuple[SlackSender, Gate], kind: str) -> None:
    sender, gate = gated
    response = _send(sender, kind)
    # Answered while the listener has not acked (it waits for the gate).
    assert response.status_code == 200 and response.content == b""
    assert gate.entered.wait(5), "the listener never ran"
    assert not gate.done.is_set()
    gate.opened.set()
    assert gate.done.wait(5)


def test_unsigned_or_malformed_requests_are_refused_before_any_listener(
    gated: tuple[SlackSender, Gate],
) -> None:
    sender, gate = gated
    form = urlencode({"command": "/slow", "text": "", "team_id": "T0TEAM", "user_id": "U1"})
    ctype = "application/x-www-form-urlencoded"
    assert sender.post(form, ctype, signature="v0=" + "0" * 64).status_code == 401
    assert sender.post(form, ctype, timestamp=int(time.time()) - 301).status_code == 401
    raw = sender.http.post(
        "/slack/events",
        content=form.encode(),
        headers={"Content-Type": ctype, "X-Slack-Request-Timestamp": "soon"},
    )
    assert raw.status_code == 401
    assert not gate.entered.wait(0.5)


def test_modal_validation_errors_come_back_in_the_ack(bot: SlackSender, slack: FakeSlack) -> None:
    view = {
        "id": "V1",
        "type": "modal",
        "callback_id": "secret_submit",
        "private_metadata": "1",
        "state": {
            "values": {
                "name": {"value": {"type": "plain_text_input", "value": "API_TOKEN"}},
                "value": {"value": {"type": "plain_text_input", "value": "  "}},
            }
        },
    }
    response = bot.view_submission(view)
    assert response.status_code == 200
    assert response.json() == {
        "response_action": "errors",
        "errors": {"value": "Enter the secret's value."},
    }
    bot.settle()
    assert slack.named("chat.postMessage") == []


def test_url_verification_answers_the_challenge(bot: SlackSender) -> None:
    body = json.dumps({"token": "legacy", "type": "url_verification", "challenge": "c-123"})
    response = bot.post(body, "application/json")
    assert response.status_code == 200 and response.json() == {"challenge": "c-123"}


def _form(**fields: str) -> bytes:
    return urlencode(fields).encode()


@pytest.mark.parametrize(
    ("body", "content_type", "kind"),
    [
        (b'{"type": "event_callback", "event": {}}', "application/json", "event_callback"),
        (b'{"type": "url_verification"}', "application/json; charset=utf-8", "url_verification"),
        (
            _form(command="/clixen", text="help"),
            "application/x-www-form-urlencoded",
            "slash_command",
        ),
        (
            _form(payload=json.dumps({"type": "block_actions", "actions": []})),
            "application/x-www-form-urlencoded",
            "block_actions",
        ),
        (
            _form(payload=json.dumps({"type": "view_submission"})),
            "application/x-www-form-urlencoded",
            "view_submission",
        ),
        (_form(ssl_check="1", token="t"), "application/x-www-form-urlencoded", None),
        (b"{not json", "application/json", None),
        (b"[1, 2]", "application/json", None),
        (_form(payload="{broken"), "application/x-www-form-urlencoded", None),
    ],
)
def test_request_kind(body: bytes, content_type: str, kind: str | None) -> None:
    assert request_kind(body, content_type) == kind
