"""Names and text that users, the LLM or n8n supply render as text in Slack: never a broadcast, a
mention, a link or an entity. Checked on every builder and on what reached the Slack fake."""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.blocks import messages, run_message
from bot.blocks.home import ProjectChoice, home_view
from bot.blocks.messages import QuotaView, WorkflowRow
from bot.blocks.modals import secret_modal
from bot.blocks.run_now import CONFIRM_ACTION
from bot.blocks.thread_replies import (
    WorkflowFacts,
    answer_blocks,
    answer_text,
    confirm_edit_blocks,
    confirm_edit_text,
    edit_confirmed_blocks,
)
from bot.blocks.versions import VersionRow, rollback_blocks, versions_blocks
from core.workspace.projects import create_project
from tests.bot.conftest import TEAM, SlackSender
from tests.doubles.llm_server import ScriptedLLM
from tests.doubles.slack_api import FakeSlack
from tests.workflows import answer, order_hook

HOSTILE = "<!here> <!channel> <@U123> <https://evil.example|click> & @channel"
FORGED = ("<!here>", "<!channel>", "<@U123>", "<https://evil.example", "@channel")


def mrkdwn_of(value: Any) -> Iterator[str]:
    """Every string Slack parses as mrkdwn in a message, view or block list (plain_text skipped;
    a message's `text` counts: Slack shows it in notifications and parses it)."""
    if isinstance(value, list):
        for item in value:
            yield from mrkdwn_of(item)
    elif isinstance(value, dict):
        plain = value.get("type") == "plain_text"
        for key, item in value.items():
            if isinstance(item, str):
                if key == "text" and not plain:
                    yield item
            else:
                yield from mrkdwn_of(item)


def assert_inert(texts: list[str], *, expect_shown: bool = True) -> None:
    """No forged markup, every `&` an entity, and (when expected) the hostile text shown."""
    assert texts, "nothing rendered"
    for text in texts:
        for forged in FORGED:
            assert forged not in text, (forged, text)
        stripped = text.replace("&amp;", "").replace("&lt;", "").replace("&gt;", "")
        assert "&" not in stripped, text
    if expect_shown:
        assert any("&lt;!here&gt;" in t and "&amp;" in t for t in texts), texts


def _rendered(value: Any) -> list[str]:
    return list(mrkdwn_of(value))


T = dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.UTC)
FACTS = WorkflowFacts(
    id=1,
    name=HOSTILE,
    version=2,
    status="active",
    description=HOSTILE,
    outline=[HOSTILE],
    last_execution_status="error",
    last_execution_at=HOSTILE,
)
BUILDERS: dict[str, Callable[[], Any]] = {
    "thread_answer": lambda: answer_blocks(FACTS),
    "thread_answer_text": lambda: {"text": answer_text(FACTS)},
    "thread_confirm": lambda: confirm_edit_blocks(FACTS, HOSTILE, "{}"),
    "thread_confirm_text": lambda: {"text": confirm_edit_text(FACTS)},
    "thread_confirmed": lambda: edit_confirmed_blocks(HOSTILE),
    "home_view": lambda: home_view(
        projects=[ProjectChoice(1, HOSTILE, "owner")],
        current=ProjectChoice(1, HOSTILE, "owner"),
        workflows=[WorkflowRow(2, HOSTILE, "active", 3, "error", "2026-11-20 09:30 UTC")],
        next_cursor="c",
        prev_cursor=None,
        quota=QuotaView(1, 2, 3, 4),
    ),
    "secret_modal": lambda: secret_modal(project_id=1, project_name=HOSTILE),
    "summary": lambda: run_message.summary_blocks(
        workflow_id=1,
        name=HOSTILE,
        version=2,
        description=HOSTILE,
        outline=[HOSTILE],
        n8n_url="https://n8n.example/workflow/1",
        note=HOSTILE,
    ),
    "summary_text": lambda: {"text": run_message.summary_text(HOSTILE, 2)},
    "failure": lambda: run_message.failure_blocks(
        request=HOSTILE, error=HOSTILE, needs_review=True
    ),
    "failure_text": lambda: {"text": run_message.failure_text(HOSTILE)},
    "question": lambda: run_message.question_blocks(request=HOSTILE, question=HOSTILE),
    "question_text": lambda: {"text": run_message.question_text(HOSTILE)},
    "progress": lambda: run_message.progress_blocks(
        request=HOSTILE, step="validating", message=HOSTILE
    ),
    "request_root_text": lambda: {"text": run_message.request_root_text("U9", HOSTILE)},
    "error": lambda: messages.error_blocks(HOSTILE, "abc123"),
    "error_text": lambda: {"text": messages.error_text(HOSTILE)},
    "workflow_list": lambda: messages.workflow_list_blocks(
        HOSTILE, [WorkflowRow(1, HOSTILE, "active", 1)], more=True
    ),
    "projects": lambda: messages.projects_blocks(HOSTILE, [(HOSTILE, "owner")]),
    "versions": lambda: versions_blocks(
        workflow_id=1,
        name=HOSTILE,
        head_version=2,
        versions=[VersionRow(1, T, "generate", "U1", "superseded")],
    ),
    "rollback": lambda: rollback_blocks(
        workflow_id=1,
        name=HOSTILE,
        head_version=2,
        versions=[
            VersionRow(1, T, "generate", "U1", "superseded"),
            VersionRow(2, T, "edit", "U1", "deployed"),
        ],
        selected=1,
        diff=[HOSTILE],
    ),
}


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_every_builder_renders_hostile_text_as_text(name: str) -> None:
    assert_inert(_rendered(BUILDERS[name]()))


# --- through the listeners, as Slack receives it ------------------------------------------------


def _calls_text(slack: FakeSlack, method: str) -> list[str]:
    return [t for call in slack.named(method) for t in mrkdwn_of(call.args)]


def test_a_hostile_project_name_is_inert_in_app_home_and_the_secret_form(
    bot: SlackSender, slack: FakeSlack, session_factory: sessionmaker[Session]
) -> None:
    with session_factory.begin() as session:
        create_project(session=session, team_id=TEAM, name="default", creator_user_id="U1")
    bot.command(f"project {HOSTILE}")
    slack.wait_for("respond")
    assert_inert(_calls_text(slack, "respond"))

    bot.event({"type": "app_home_opened", "user": "U1", "channel": "D1", "tab": "home"})
    slack.wait_for("views.publish")
    assert_inert(_calls_text(slack, "views.publish"))

    bot.command("secret")
    slack.wait_for("views.open")
    assert_inert(_calls_text(slack, "views.open"))


def test_an_error_naming_what_the_user_typed_is_inert(bot: SlackSender, slack: FakeSlack) -> None:
    bot.command(f"versions {HOSTILE}")
    reply = slack.wait_for("respond")[0]
    assert "There is no workflow" in reply.args["text"]
    assert_inert(list(mrkdwn_of(reply.args)))


def test_llm_and_n8n_text_is_inert_from_question_to_test_run(
    full_bot: SlackSender, slack: FakeSlack, llm: ScriptedLLM
) -> None:
    path = f"hostile-{uuid.uuid4().hex[:8]}"
    workflow = order_hook(
        path, "throw new Error(" + json.dumps(HOSTILE) + ");", name=f"Orders {HOSTILE}"
    )
    llm.script({"question": f"Which channel? {HOSTILE}"}, answer(workflow, f"Checks. {HOSTILE}"))

    full_bot.command("check each incoming order")
    question = slack.wait_for_text("chat.update", "Which channel?")
    assert_inert(list(mrkdwn_of(question.args)))

    thread_ts = slack.named("chat.postMessage")[1].args["thread_ts"]
    full_bot.event(
        {
            "type": "message",
            "channel": "C1",
            "user": "U1",
            "text": "#orders",
            "ts": f"{time.time():.6f}",
            "thread_ts": thread_ts,
        }
    )
    summary = slack.wait_for_text("chat.update", "is active")
    assert_inert(list(mrkdwn_of(summary.args)))

    buttons = {
        e["action_id"]: e
        for b in summary.args["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
    }
    full_bot.action(
        {
            "action_id": "workflow_test_run",
            "type": "button",
            "value": buttons["workflow_test_run"]["value"],
        }
    )
    # The Code node can send requests: the run asks first, naming it (inert too).
    confirm = slack.wait_for_text("respond", "really")
    assert_inert(list(mrkdwn_of(confirm.args)))
    full_bot.action(
        {
            "action_id": CONFIRM_ACTION,
            "type": "button",
            "value": buttons["workflow_test_run"]["value"],
        }
    )
    result = slack.wait_for_text("respond", "failed at")
    assert result.args["text"].startswith("Test run of")
    assert_inert(list(mrkdwn_of(result.args)))
    # Nothing that reached Slack, in any call, carries a live broadcast or forged mention.
    for call in slack.calls:
        assert_inert(list(mrkdwn_of(call.args)) or ["-"], expect_shown=False)
