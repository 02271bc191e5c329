"""The Test run button for any trigger: outside effects first (Run the test / Cancel), then one
message with what each node did; every n8n string escaped."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from bot.blocks.run_now import (
    CONFIRM_ACTION,
    confirm_test_run_blocks,
    confirm_test_run_text,
    run_result_blocks,
    run_result_text,
)
from core.run_now import NodeResult, RunNowReport
from core.workspace.policy import set_project_policy
from core.workspace.projects import create_project
from tests.bot.conftest import TEAM, SlackSender
from tests.bot.test_escaping import HOSTILE, assert_inert, mrkdwn_of
from tests.core.test_run_now import schedule_http_code
from tests.doubles.http_sink import HttpSink
from tests.doubles.llm_server import ScriptedLLM
from tests.doubles.slack_api import FakeSlack
from tests.workflows import answer

BLOCK_KIT_SAMPLE = Path("/tmp/clixen-test-run-message.json")


def test_builders_escape_n8n_text() -> None:
    report = RunNowReport(
        status="error",
        node=f"Post {HOSTILE}",
        message=f"boom {HOSTILE}",
        nodes=[
            NodeResult(name=f"Every {HOSTILE}", status="ran", items=1, first_item=HOSTILE),
            NodeResult(name=f"Post {HOSTILE}", status="failed", message=HOSTILE),
            NodeResult(name="Later", status="not run"),
        ],
    )
    blocks = run_result_blocks(f"Flow {HOSTILE}", report)
    assert_inert(list(mrkdwn_of(blocks)))
    assert_inert([run_result_text(f"Flow {HOSTILE}", report)])
    confirm = confirm_test_run_blocks(
        workflow_id=3, name=HOSTILE, effects=[(HOSTILE, f"HTTP Request POST {HOSTILE}")]
    )
    assert_inert(list(mrkdwn_of(confirm)))
    assert_inert([confirm_test_run_text(f"Flow {HOSTILE}")])
    assert [e["action_id"] for e in confirm[-1]["elements"]] == [
        CONFIRM_ACTION,
        "workflow_test_run_cancel",
    ]


def test_a_schedule_workflow_asks_then_shows_each_node(
    full_bot: SlackSender,
    slack: FakeSlack,
    llm: ScriptedLLM,
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory.begin() as session:
        project = create_project(
            session=session, team_id=TEAM, name="default", creator_user_id="U1"
        )
        set_project_policy(
            session=session, project_id=project.id, actor_user_id="U1", allow_hosts=["127.0.0.1"]
        )
    with HttpSink() as sink:
        js = "return [{json: {day: $('Every morning').first().json['Day of week'], ok: $json.ok}}];"
        llm.script(answer(schedule_http_code(sink.url("/status"), js), "Checks the status."))
        full_bot.command("every morning check our status page")
        summary = slack.wait_for_text("chat.update", "is active")
        value = next(
            e["value"]
            for b in summary.args["blocks"]
            if b["type"] == "actions"
            for e in b["elements"]
            if e["action_id"] == "workflow_test_run"
        )
        full_bot.action({"action_id": "workflow_test_run", "type": "button", "value": value})
        confirm = slack.wait_for_text("respond", "really")
        assert "Fetch status" in json.dumps(confirm.args)
        assert sink.requests == []  # nothing ran before the confirmation
        full_bot.action({"action_id": CONFIRM_ACTION, "type": "button", "value": value})
        result = slack.wait_for_text("respond", "succeeded")
        assert [r.path for r in sink.requests] == ["/status"]
    assert result.args["replace_original"] is True
    text = json.dumps(result.args["blocks"], ensure_ascii=False)
    for node in ("Every morning", "Fetch status", "Summarise"):
        assert f"*{node}* · ran · 1 item out" in text
    assert "the schedule's fields for now" in text
    BLOCK_KIT_SAMPLE.write_text(
        json.dumps({"blocks": result.args["blocks"]}, indent=2, ensure_ascii=False)
    )


def test_a_test_run_from_slack_applies_todays_policy_not_the_deploy_days(
    full_bot: SlackSender,
    slack: FakeSlack,
    llm: ScriptedLLM,
    session_factory: sessionmaker[Session],
) -> None:
    """Deployed while the owner allowed the loopback; the owner has withdrawn it since: the Test
    run button replays the head version under today's policy, so nothing is called."""
    with session_factory.begin() as session:
        project = create_project(
            session=session, team_id=TEAM, name="default", creator_user_id="U1"
        )
        set_project_policy(
            session=session, project_id=project.id, actor_user_id="U1", allow_hosts=["127.0.0.1"]
        )
        project_id = project.id
    with HttpSink() as sink:
        llm.script(answer(schedule_http_code(sink.url("/status"), "return $input.all();"), "Hi."))
        full_bot.command("every morning check our status page")
        summary = slack.wait_for_text("chat.update", "is active")
        value = next(
            e["value"]
            for b in summary.args["blocks"]
            if b["type"] == "actions"
            for e in b["elements"]
            if e["action_id"] == "workflow_test_run"
        )
        with session_factory.begin() as session:
            set_project_policy(
                session=session, project_id=project_id, actor_user_id="U1", allow_hosts=[]
            )
        full_bot.action({"action_id": "workflow_test_run", "type": "button", "value": value})
        slack.wait_for_text("respond", "really")
        full_bot.action({"action_id": CONFIRM_ACTION, "type": "button", "value": value})
        result = slack.wait_for_text("respond", "refused")
        assert sink.requests == []
    text = json.dumps(result.args, ensure_ascii=False)
    assert "was not run" in text and "127.0.0.1" in text
