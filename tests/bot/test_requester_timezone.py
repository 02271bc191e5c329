"""The bot asks Slack for the requester's timezone (`users.info` `tz`), so "every morning" is
theirs; without the users:read scope the run goes on without one."""

from __future__ import annotations

from bot.run_threads import requester_timezone
from bot.slack_client import SlackClient
from tests.doubles.slack_api import FakeSlack


def test_the_requesters_timezone_comes_from_users_info(slack: FakeSlack) -> None:
    slack.timezones = {"U1": "Europe/Paris", "U2": None}
    client = SlackClient(token="xoxb-test", base_url=slack.url)
    assert requester_timezone(client, "U1") == "Europe/Paris"
    assert requester_timezone(client, "U2") is None  # missing_scope: no timezone, no failure
    assert [c.args.get("user") for c in slack.named("users.info")] == ["U1", "U2"]
