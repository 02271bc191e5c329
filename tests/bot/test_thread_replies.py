"""Replies in a workflow's thread: only a clear change request deploys a new version. Thanks get
a short note, questions an answer from what is known, anything unclear two buttons (all private
to the reply's author)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.blocks.thread_replies import (
    PendingEdit,
    WorkflowFacts,
    confirm_edit_blocks,
    parse_pending_value,
    pending_value,
)
from core.kernel.models import PipelineRun, Workflow
from tests.bot.conftest import SlackSender
from tests.doubles.llm_server import ScriptedLLM
from tests.doubles.slack_api import FakeSlack
from tests.workflows import answer, edit_reply, schedule_workflow

SUMMARY = "Posts the news every morning."


def _runs(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        return int(session.scalar(select(func.count(PipelineRun.id))) or 0)


def _head(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        wf = session.scalars(select(Workflow)).one()
        return wf.head_version


def _created(bot: SlackSender, slack: FakeSlack, llm: ScriptedLLM) -> str:
    """A deployed workflow (v1) made from a slash command; its thread's ts."""
    llm.script(answer(schedule_workflow("Morning news"), SUMMARY))
    bot.command("create every morning post the news")
    slack.wait_for_text("chat.update", "is active")
    slack.wait_for("files.completeUploadExternal")
    return str(slack.named("chat.postMessage")[1].args["thread_ts"])


def _reply(bot: SlackSender, thread_ts: str, text: str, user: str = "U1") -> str:
    ts = f"{time.time():.6f}"
    event = {
        "type": "message",
        "channel": "C1",
        "user": user,
        "text": text,
        "ts": ts,
        "thread_ts": thread_ts,
    }
    assert bot.event(event).status_code == 200
    return ts


def _settle(bot: SlackSender, slack: FakeSlack, method: str, count: int) -> list[Any]:
    """The `method` calls once there are `count`, after the bot finished all it was doing:
    anything a wrong branch would also have done has happened."""
    slack.wait_for(method, count)
    bot.settle()
    return slack.named(method)


def _buttons(blocks: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {e["action_id"]: e for b in blocks if b["type"] == "actions" for e in b["elements"]}


@pytest.mark.parametrize("text", ["thanks!", "great, thank you 🙏", "👍", ":tada:"])
def test_thanks_in_the_thread_deploy_nothing(
    full_bot: SlackSender,
    slack: FakeSlack,
    llm: ScriptedLLM,
    session_factory: sessionmaker[Session],
    text: str,
) -> None:
    thread_ts = _created(full_bot, slack, llm)
    asked = len(llm.requests)
    _reply(full_bot, thread_ts, text)
    (note,) = _settle(full_bot, slack, "chat.postEphemeral", 1)
    assert note.args["user"] == "U1" and note.args["thread_ts"] == thread_ts
    assert "stays as it is" in note.args["text"]
    assert _runs(session_factory) == 1 and _head(session_factory) == 1
    assert len(llm.requests) == asked  # no LLM call either


def test_a_question_is_answered_from_what_is_known(
    full_bot: SlackSender,
    slack: FakeSlack,
    llm: ScriptedLLM,
    session_factory: sessionmaker[Session],
) -> None:
    thread_ts = _created(full_bot, slack, llm)
    posted = len(slack.named("chat.postMessage"))
    _reply(full_bot, thread_ts, "what does this do?")
    (reply,) = _settle(full_bot, slack, "chat.postEphemeral", 1)
    assert reply.args["thread_ts"] == thread_ts and reply.args["user"] == "U1"
    assert len(slack.named("chat.postMessage")) == posted  # nothing said to the whole thread
    shown = json.dumps(reply.args, ensure_ascii=False)
    assert SUMMARY in shown and "Morning news" in shown and "v1" in shown
    assert "Every morning → Shape item" in shown
    assert "Reply with what to change" in shown
    assert _runs(session_factory) == 1 and _head(session_factory) == 1


def test_an_unclear_reply_asks_first_and_yes_changes_the_workflow_once(
    full_bot: SlackSender,
    slack: FakeSlack,
    llm: ScriptedLLM,
    session_factory: sessionmaker[Session],
) -> None:
    thread_ts = _created(full_bot, slack, llm)
    _reply(full_bot, thread_ts, "the schedule is wrong")
    (ask,) = _settle(full_bot, slack, "chat.postEphemeral", 1)
    assert ask.args["user"] == "U1" and ask.args["thread_ts"] == thread_ts
    buttons = _buttons(ask.args["blocks"])
    assert buttons["thread_edit_confirm"]["text"]["text"] == "Yes, change it"
    assert buttons["thread_edit_cancel"]["text"]["text"] == "No"
    assert "the schedule is wrong" in json.dumps(ask.args["blocks"])
    assert _runs(session_factory) == 1

    # Someone else cannot confirm another user's change.
    yes = buttons["thread_edit_confirm"]
    full_bot.action(
        {"action_id": yes["action_id"], "type": "button", "value": yes["value"]}, user="U2"
    )
    refusal = slack.wait_for("respond")[0]
    assert "Only the person" in json.dumps(refusal.args)
    full_bot.settle()
    assert _runs(session_factory) == 1

    llm.script(edit_reply("Every morning", {"rule": {"interval": [{"field": "hours"}]}}))
    for _ in range(2):  # a double click starts one edit
        full_bot.action({"action_id": yes["action_id"], "type": "button", "value": yes["value"]})
    slack.wait_for_text("chat.update", "version 2")
    full_bot.settle()
    assert _runs(session_factory) == 2 and _head(session_factory) == 2
    replaced = [c for c in slack.named("respond") if c.args.get("replace_original")]
    assert any("Changing" in json.dumps(c.args) for c in replaced)
    assert "the schedule is wrong" in llm.requests[-1].text


def test_no_leaves_the_workflow_as_it_is(
    full_bot: SlackSender,
    slack: FakeSlack,
    llm: ScriptedLLM,
    session_factory: sessionmaker[Session],
) -> None:
    thread_ts = _created(full_bot, slack, llm)
    _reply(full_bot, thread_ts, "hmm, weekly")
    (ask,) = _settle(full_bot, slack, "chat.postEphemeral", 1)
    no = _buttons(ask.args["blocks"])["thread_edit_cancel"]
    full_bot.action({"action_id": no["action_id"], "type": "button", "value": no["value"]})
    (done,) = _settle(full_bot, slack, "respond", 1)
    assert done.args.get("replace_original") or done.args.get("delete_original")
    assert _runs(session_factory) == 1 and _head(session_factory) == 1


def test_a_mention_that_only_thanks_deploys_nothing(
    full_bot: SlackSender,
    slack: FakeSlack,
    llm: ScriptedLLM,
    session_factory: sessionmaker[Session],
) -> None:
    thread_ts = _created(full_bot, slack, llm)
    event = {
        "type": "app_mention",
        "channel": "C1",
        "user": "U1",
        "text": "<@UBOT> thanks!",
        "ts": f"{time.time():.6f}",
        "thread_ts": thread_ts,
    }
    full_bot.event(event)
    _settle(full_bot, slack, "chat.postEphemeral", 1)
    assert _runs(session_factory) == 1 and _head(session_factory) == 1


def test_a_clear_change_request_still_edits_at_once(
    full_bot: SlackSender,
    slack: FakeSlack,
    llm: ScriptedLLM,
    session_factory: sessionmaker[Session],
) -> None:
    thread_ts = _created(full_bot, slack, llm)
    llm.script(edit_reply("Every morning", {"rule": {"interval": [{"triggerAtHour": 9}]}}))
    _reply(full_bot, thread_ts, "make it run at 9am instead")
    slack.wait_for_text("chat.update", "version 2")
    full_bot.settle()
    assert _head(session_factory) == 2
    assert slack.named("chat.postEphemeral") == []


# --- the pure builders ------------------------------------------------------------------------


FACTS = WorkflowFacts(1, "Morning news", 3, "active", SUMMARY, ["Every morning → Shape item"])


def test_a_pending_edit_round_trips_through_its_button_value() -> None:
    pending = PendingEdit(7, "U1", "C1", "1700.1", "1700.2", "the schedule is wrong 🙃")
    value = pending_value(pending)
    assert value is not None and parse_pending_value(value) == pending
    for forged in ("[]", '{"w": "7"}', '{"w": true, "u": "U1"}', "not json"):
        with pytest.raises((ValueError, KeyError)):
            parse_pending_value(forged)


def test_a_reply_too_long_for_a_button_is_asked_about_without_buttons() -> None:
    pending = PendingEdit(7, "U1", "C1", "1700.1", "1700.2", "x" * 2500)
    assert pending_value(pending) is None
    blocks = confirm_edit_blocks(FACTS, pending.request, None)
    assert _buttons(blocks) == {}
    assert "reply with what to change" in json.dumps(blocks)
