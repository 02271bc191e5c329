"""Review before live from Slack, on the real n8n and the real database (Slack's Web API faked,
the LLM scripted): an owner turns it on; an editor's edit in the thread waits, its request
reaches the owner; the editor's approve and a forged button from another workspace are refused;
the owner's approval deploys exactly the version shown (not a later one), a rejection leaves
live untouched, the requester hears both in the thread; a rollback waits too; the versions
view keeps the trail."""

from __future__ import annotations

import json
import time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.kernel.models import VersionReview, Workflow
from core.n8n import N8nClient
from tests.bot.conftest import SlackSender
from tests.builders import new_project
from tests.doubles.llm_server import ScriptedLLM
from tests.doubles.slack_api import FakeSlack
from tests.waiting import wait_until
from tests.workflows import answer, edit_reply, schedule_workflow

OWNER, EDITOR = "U1", "U2EDIT"
DM = {"type": "message", "message_ts": "1700000000.000900", "channel_id": "D1"}


def _created(bot: SlackSender, slack: FakeSlack, llm: ScriptedLLM) -> str:
    """A deployed workflow (v1) the owner made from a slash command; its thread's ts."""
    llm.script(answer(schedule_workflow("Morning news")))
    bot.command("create every morning post the news")
    slack.wait_for_text("chat.update", "is active")
    slack.wait_for("files.completeUploadExternal")
    return str(slack.named("chat.postMessage")[1].args["thread_ts"])


def _reply(bot: SlackSender, thread_ts: str, text: str, user: str) -> None:
    event = {
        "type": "message",
        "channel": "C1",
        "user": user,
        "text": text,
        "ts": f"{time.time():.6f}",
        "thread_ts": thread_ts,
    }
    assert bot.event(event).status_code == 200


def _buttons(blocks: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {e["action_id"]: e for b in blocks if b["type"] == "actions" for e in b["elements"]}


def _click(bot: SlackSender, button: dict[str, Any], user: str, team: str | None = None) -> None:
    action = {"action_id": button["action_id"], "type": "button", "value": button["value"]}
    if team is None:
        bot.action(action, user=user, container=DM)
    else:
        bot.action(action, user=user, team=team, container=DM)


def _live_hour(session_factory: sessionmaker[Session], n8n_client: N8nClient) -> Any:
    """The trigger hour of the workflow as n8n runs it (None: the v1 schedule)."""
    with session_factory() as session:
        wf = session.scalars(select(Workflow)).one()
        assert wf.n8n_workflow_id
        n8n_id = wf.n8n_workflow_id
    live = n8n_client.get_workflow(n8n_id)
    assert live["active"] is True
    trigger = next(n for n in live["nodes"] if n["name"] == "Every morning")
    return trigger["parameters"]["rule"]["interval"][0].get("triggerAtHour")


def test_an_edit_waits_for_the_owner_who_alone_approves_exactly_what_was_shown(
    full_bot: SlackSender,
    slack: FakeSlack,
    llm: ScriptedLLM,
    session_factory: sessionmaker[Session],
    n8n_client: N8nClient,
) -> None:
    thread_ts = _created(full_bot, slack, llm)
    # The editor joins the project (any member sees the setting); only the owner turns it on.
    full_bot.command("review", user=EDITOR)
    slack.wait_for_text("respond", "Review before live is *off*")
    full_bot.command("review on", user=EDITOR)
    slack.wait_for_text("respond", "this needs owner rights")
    full_bot.command("review on")
    slack.wait_for_text("respond", "Review before live is *on*")

    # An editor's change waits: the thread says so, the owner gets the request, n8n is as it was.
    llm.script(edit_reply("Every morning", {"rule": {"interval": [{"triggerAtHour": 9}]}}))
    _reply(full_bot, thread_ts, "make it run at 9am instead", EDITOR)
    slack.wait_for_text("chat.update", "v2 is ready and waits for a project owner's approval")
    asked = slack.wait_for_text("chat.postMessage", "Review: Morning news v2").args
    assert asked["channel"] == OWNER
    shown = json.dumps(asked["blocks"], ensure_ascii=False)
    assert f"<@{EDITOR}> asks to make *Morning news* v2 live (an edit)" in shown
    assert "triggerAtHour" in shown and "v1 is live" in shown
    assert "Test run on a test copy: succeeded" in shown
    assert "Hosts it will reach:* none" in shown
    first = _buttons(asked["blocks"])
    slack.wait_for_text("files.getUploadURLExternal", "v2-review.png")
    assert _live_hour(session_factory, n8n_client) is None

    # A second change, asked while the first waits: a later version with its own request.
    llm.script(edit_reply("Every morning", {"rule": {"interval": [{"triggerAtHour": 10}]}}))
    _reply(full_bot, thread_ts, "make it run at 10am instead", EDITOR)
    second = _buttons(
        slack.wait_for_text("chat.postMessage", "Review: Morning news v3").args["blocks"]
    )

    # The editor's approve is refused; so is another workspace's user naming this review.
    _click(full_bot, first["review_approve"], EDITOR)
    slack.wait_for_text("respond", "this needs owner rights")
    new_project(session_factory, team_id="T0OTHER", user_id="UEVIL")
    _click(full_bot, first["review_approve"], "UEVIL", team="T0OTHER")
    slack.wait_for_text("respond", "serves the Slack workspace it is installed in")
    full_bot.settle()
    assert _live_hour(session_factory, n8n_client) is None

    # The owner approves the first: exactly v2 (9am) goes live, not the later v3 (10am).
    _click(full_bot, first["review_approve"], OWNER)
    told = slack.wait_for_text("chat.postMessage", "approved *Morning news* v2").args
    assert told["thread_ts"] == thread_ts and f"<@{EDITOR}>" in told["text"]
    slack.wait_for_text("respond", "it is live in n8n now")
    assert _live_hour(session_factory, n8n_client) == 9

    # The owner rejects the second (its form asks why): live stays v2, the requester hears it.
    _click(full_bot, second["review_reject"], OWNER)
    form = slack.wait_for("views.open")[-1].args["view"]
    full_bot.view_submission(
        {
            **form,
            "id": "V5",
            "state": {
                "values": {"reason": {"value": {"type": "plain_text_input", "value": "9 is fine"}}}
            },
        }
    )
    rejected = slack.wait_for_text("chat.postMessage", "rejected *Morning news* v3").args
    assert rejected["thread_ts"] == thread_ts
    assert "v2 stays live" in rejected["text"] and "Reason: 9 is fine" in rejected["text"]
    full_bot.settle()
    assert _live_hour(session_factory, n8n_client) == 9
    # The request message shows the decision, its buttons gone; a second click is refused.
    decided = slack.wait_for_text("chat.update", "rejected *Morning news* v3").args
    assert decided["channel"] == "D1" and "actions" not in json.dumps(decided["blocks"])
    _click(full_bot, second["review_approve"], OWNER)
    slack.wait_for_text("respond", "was already rejected by U1")

    # The versions view keeps who asked, who decided, when, why.
    with session_factory() as session:
        wf_id = session.scalars(select(Workflow.id)).one()
    full_bot.action({"action_id": "workflow_versions", "type": "button", "value": str(wf_id)})
    view = json.dumps(slack.wait_for_text("respond", "Versions of Morning news").args["blocks"])
    assert f"v2 (an edit) asked by <@{EDITOR}>" in view and "approved by <@U1>" in view
    assert "rejected by <@U1>" in view and "(9 is fine)" in view


def test_a_rollback_waits_for_the_owner_too(
    full_bot: SlackSender,
    slack: FakeSlack,
    llm: ScriptedLLM,
    session_factory: sessionmaker[Session],
    n8n_client: N8nClient,
) -> None:
    thread_ts = _created(full_bot, slack, llm)
    llm.script(edit_reply("Every morning", {"rule": {"interval": [{"triggerAtHour": 7}]}}))
    _reply(full_bot, thread_ts, "make it run at 7am instead", OWNER)
    slack.wait_for_text("chat.update", "version 2")
    full_bot.settle()
    full_bot.command("review on")
    slack.wait_for_text("respond", "Review before live is *on*")
    with session_factory() as session:
        wf_id = session.scalars(select(Workflow.id)).one()

    full_bot.action({"action_id": "rollback_confirm", "type": "button", "value": f"{wf_id}:1"})
    slack.wait_for_text("respond", "v3 waits for a project owner's approval")
    told = slack.wait_for_text("chat.postMessage", "waits for a project owner's approval").args
    assert told["thread_ts"] == thread_ts
    asked = slack.wait_for_text("chat.postMessage", "Review: Morning news v3").args
    assert "(a rollback)" in json.dumps(asked["blocks"])
    full_bot.settle()
    assert _live_hour(session_factory, n8n_client) == 7

    _click(full_bot, _buttons(asked["blocks"])["review_approve"], OWNER)
    slack.wait_for_text("chat.postMessage", "approved *Morning news* v3")
    wait_until(lambda: _live_hour(session_factory, n8n_client) is None, 30, "not rolled back")
    with session_factory() as session:
        states = list(session.scalars(select(VersionReview.state)))
    assert states == ["approved"]
