"""A link button that n8n's own Slack node posts (a send-and-wait approval) sends Clixen a
`block_actions` interaction like any button: it is acknowledged, so the user sees no error icon
next to it (issue 25). Over HTTP the server acknowledges button clicks before Bolt; in Socket
Mode the ack is Bolt's, so the test asks the Bolt app itself."""

from __future__ import annotations

import time
from typing import Any

from slack_bolt.request import BoltRequest
from slack_sdk import WebClient
from sqlalchemy.orm import Session, sessionmaker

from bot.app import create_app
from bot.services import BotServices
from tests.bot.conftest import TEAM, SlackSender, bot_settings
from tests.doubles.slack_api import FakeSlack

APPROVE = {
    "type": "button",
    "action_id": "approve-4b1d",  # n8n names it; no listener of ours knows it
    "text": {"type": "plain_text", "text": "Approve"},
    "url": "https://n8n.example.com/webhook-waiting/42?signature=abc&approved=true",
    "value": "approve",
}


def _block_actions(action: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "block_actions",
        "team": {"id": TEAM, "domain": "acme"},
        "user": {"id": "U1", "team_id": TEAM},
        "api_app_id": "A1",
        "token": "legacy",
        "trigger_id": "trig-link",
        "container": {"type": "message", "message_ts": "1700000000.000100", "channel_id": "C1"},
        "channel": {"id": "C1", "name": "general"},
        "response_url": "https://hooks.slack.invalid/respond",
        "actions": [{"action_ts": f"{time.time():.6f}", "block_id": "b1", **action}],
    }


def test_a_link_button_from_n8ns_slack_node_is_acknowledged_by_the_app(
    slack: FakeSlack, database_url: str, session_factory: sessionmaker[Session]
) -> None:
    settings = bot_settings(slack, database_url, SLACK_APP_TOKEN="xapp-1-A1-test")
    services = BotServices(settings=settings, session_factory=session_factory)
    try:
        bolt = create_app(
            settings=settings,
            services=services,
            client=WebClient(token=settings.slack_bot_token, base_url=slack.url),
        )
        response = bolt.dispatch(BoltRequest(body=_block_actions(APPROVE), mode="socket_mode"))
        assert response.status == 200  # before: 404, "unhandled request", an error icon
        other = {**APPROVE, "action_id": "some_menu", "type": "static_select", "url": None}
        assert (
            bolt.dispatch(BoltRequest(body=_block_actions(other), mode="socket_mode")).status == 200
        )
    finally:
        services.shutdown(wait=True)


def test_a_link_button_over_http_is_acknowledged_and_says_nothing(
    bot: SlackSender, slack: FakeSlack
) -> None:
    assert bot.action(APPROVE).status_code == 200
    bot.settle()
    assert not slack.named("chat.postEphemeral") and not slack.named("respond")
