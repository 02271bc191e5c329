"""The Block Kit of connecting accounts, pure: a waiting run offers "Connect <service>" for OAuth2
types and the paste form for the rest; App Home's accounts and the needs-reconnect notice escape
what providers and users named."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from bot.blocks.connect import accounts_blocks, connect_link_blocks, parse_connect_value
from bot.blocks.credentials import CredentialAsk, credentials_needed_blocks
from bot.blocks.messages import WorkflowRow, workflow_line
from bot.blocks.notices import reconnect_notice
from core.connect import AccountInfo
from core.n8n import ExecutionFailure
from core.scheduler.notify import ReconnectNeeded, Thread

WHEN = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.UTC)


def _actions(blocks: list[dict[str, object]]) -> list[str]:
    return [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]  # type: ignore[index, attr-defined]


def test_oauth2_types_get_connect_and_pasted_types_get_the_form() -> None:
    blocks = credentials_needed_blocks(
        run_id=7,
        request="append rows to my sheet",
        asks=[
            CredentialAsk("Append row", ("googleSheetsOAuth2Api", "googleApi")),
            CredentialAsk("Post", ("slackApi",)),
        ],
    )
    text = json.dumps(blocks)
    assert "*Append row* needs your Google Sheets account." in text
    assert _actions(blocks) == ["account_connect", "credential_open"]
    [connect] = [
        e for b in blocks if b["type"] == "actions" for e in b["elements"]  # type: ignore[attr-defined]
        if e["action_id"] == "account_connect"
    ]  # fmt: skip
    assert connect["text"]["text"] == "Connect Google Sheets"
    assert parse_connect_value(connect["value"]) == ("google-sheets", 7)


def test_connect_value_is_parsed_as_untrusted_input() -> None:
    assert parse_connect_value('{"s":"gmail","r":null}') == ("gmail", None)
    with pytest.raises(ValueError):
        parse_connect_value('{"s":"gmail","r":"not a run"}')
    assert len(parse_connect_value('{"s":"' + "x" * 500 + '"}')[0]) == 40


def test_the_link_is_a_url_button_with_its_expiry() -> None:
    blocks = connect_link_blocks(
        label="Gmail", url="https://c.example/oauth/start?state=abc", expires_at=WHEN,
        project="ops <team>", resumes_run=True,
    )  # fmt: skip
    text = json.dumps(blocks)
    assert '"url": "https://c.example/oauth/start?state=abc"' in text
    assert "until 12:00 UTC" in text and "ops &lt;team&gt;" in text


def test_accounts_show_who_when_last_use_and_needs_reconnect_escaped() -> None:
    accounts = [
        AccountInfo("gmail", "Gmail", "GMAIL", "<!channel>@evil", "U123ABC", WHEN, None, True),
        AccountInfo("hubspot", "HubSpot", "HUBSPOT", None, "cli:dora", WHEN, WHEN, False),
    ]
    text = json.dumps(accounts_blocks(accounts))
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text
    assert "connected by <@U123ABC>" in text and "connected by cli:dora" in text
    assert "needs reconnect" in text and "last successful use 2026-12-03 12:00 UTC" in text
    assert _actions(accounts_blocks(accounts)).count("account_disconnect") == 2
    assert "None yet" in json.dumps(accounts_blocks([]))


def test_needs_reconnect_reads_as_words() -> None:
    row = WorkflowRow(1, "Sync", "needs_reconnect", 2, "error", None)
    assert workflow_line(row) == ":link: *Sync* (#1) · v2 · needs reconnect · last run error"
    failure = ExecutionFailure(
        "9", "Read <@U1>", "The credential needs to be reconnected.", "error"
    )
    gmail = AccountInfo("gmail", "Gmail", "GMAIL", "a@b.c", "U1", WHEN, None, True)
    notice = reconnect_notice(ReconnectNeeded(Thread("C1"), "<!here> Sync", failure, (gmail,)))
    assert "<!here>" not in notice and "• Gmail: `/clixen connect gmail`" in notice
    assert "a@b.c" not in notice  # the thread's whole channel reads it
