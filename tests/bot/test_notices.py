"""The scheduler's events in Slack and on a terminal: core hands typed events, the front ends
write the words (pure: no Slack, no database)."""

from __future__ import annotations

import datetime as dt
import io

from bot.blocks.common import escape
from bot.blocks.notices import connected_privately, notice_text
from cli.notifier import PrintNotifier
from core.connect import AccountInfo
from core.kernel.vocabulary import RunState
from core.n8n import ExecutionFailure
from core.pipeline import RunOutcome
from core.scheduler.notify import (
    AccountConnected,
    ExecutionFailed,
    Picture,
    ReconnectNeeded,
    RunRecovered,
    SchedulerEvent,
    Thread,
)

WHEN = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.UTC)
FAILURE = ExecutionFailure("41", "Fetch <!channel>", "connect ECONNREFUSED @here", "error")
GMAIL = AccountInfo("gmail", "Gmail", "GMAIL", "<@U9>", "U1", WHEN, None, False)


def _events() -> list[SchedulerEvent]:
    where = Thread("C1", "111.1")
    picture = Picture(b"png", "workflow-1-execution-41.png", "Sync", "Sync: 1 failed")
    return [
        RunRecovered(where, RunOutcome(run_id=7, state=RunState.failed, message="<!here> gone")),
        AccountConnected(where, GMAIL, "U1"),
        ExecutionFailed(where, "Sync *now*", FAILURE, "I deployed version 2.", picture),
        ReconnectNeeded(where, "Sync", FAILURE, (GMAIL,)),
    ]


def test_mrkdwn_escape_defuses_links_mentions_and_broadcasts() -> None:
    text = "Tom & Jerry <!channel> <@U123> <https://evil.example|click> @here @Everyone a@hereby"
    out = escape(text)
    assert "<" not in out and ">" not in out
    assert out.startswith("Tom &amp; Jerry &lt;!channel&gt; &lt;@U123&gt;")
    assert "@\u200bhere" in out and "@\u200bEveryone" in out
    assert "a@hereby" in out  # not a broadcast: left alone


def test_every_event_reads_in_slack_with_what_came_from_outside_escaped() -> None:
    recovered, connected, failed, reconnect = (notice_text(e) for e in _events())
    assert recovered.startswith(":arrows_counterclockwise: Your request was interrupted")
    assert connected == ":white_check_mark: Gmail is connected (project secret GMAIL)."
    assert failed.startswith(
        ":warning: “Sync *now*” failed in n8n at node “Fetch &lt;!channel&gt;”"
    )
    assert "(execution 41)" in failed and failed.endswith("I deployed version 2.")
    # Posted in the thread, seen by the whole channel: never whose account it is.
    assert "• Gmail: `/clixen connect gmail`" in reconnect and "U9" not in reconnect
    private = connected_privately(AccountConnected(Thread("C1"), GMAIL, "U1"))
    assert private == "You connected Gmail as &lt;@U9&gt;. Only you see this message."
    for text in (recovered, connected, failed, reconnect, private):
        assert "<!" not in text and "<@" not in text and "@here" not in text


def test_the_cli_prints_one_plain_line_per_event() -> None:
    out = io.StringIO()
    printer = PrintNotifier(out)
    for event in _events():
        printer.notify(event)
    lines = out.getvalue().splitlines()
    # Whose account was connected is a line for its user only.
    assert lines.pop(2) == "[notify C1 (thread 111.1), only to U1] You connected Gmail as <@U9>."
    assert len(lines) == 4 and all(line.startswith("[notify C1 (thread 111.1)] ") for line in lines)
    assert "interrupted by a restart" in lines[0]
    assert 'failed in n8n at node "Fetch <!channel>"' in lines[2]
    assert "[picture workflow-1-execution-41.png: not shown here]" in lines[2]
    assert not any(":warning:" in line or ":link:" in line for line in lines)
