"""Runs from Slack end to end: the scripted LLM, the real n8n, the real database."""

from __future__ import annotations

import json
import time

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from core.kernel.models import PipelineRun, Workflow, WorkflowVersion
from tests.bot.conftest import SlackSender
from tests.core.test_pipeline import answer, schedule_workflow
from tests.doubles.llm_server import ScriptedLLM
from tests.doubles.slack_api import FakeSlack


def _buttons(blocks: list[dict]) -> dict[str, dict]:
    return {e["action_id"]: e for b in blocks if b["type"] == "actions" for e in b["elements"]}


def test_create_ends_in_summary_with_picture_and_buttons_then_rolls_back(
    full_bot: SlackSender,
    slack: FakeSlack,
    llm: ScriptedLLM,
    session_factory: sessionmaker[Session],
) -> None:
    llm.script(
        answer(schedule_workflow("Morning news")),
        {"operations": [{"op": "remove_node", "node": "Shape item"}], "summary": "No set."},
    )
    response = full_bot.command("create every morning post the news")
    assert response.status_code == 200

    root = slack.wait_for("chat.postMessage", 2)
    assert "asked Clixen" in root[0].args["text"]
    thread_ts = root[0].args and slack.named("chat.postMessage")[1].args["thread_ts"]
    summary = slack.wait_for_text("chat.update", "is active").args
    text = json.dumps(summary["blocks"], ensure_ascii=False)
    assert "Morning news" in text and "version 1" in text
    assert "Every morning → Shape item" in text
    buttons = _buttons(summary["blocks"])
    assert set(buttons) == {
        "workflow_versions",
        "workflow_rollback",
        "workflow_test_run",  # a schedule workflow can be test-run too
        "workflow_open_n8n",
        "workflow_pause",
        "workflow_rename",
        "workflow_runs",
        "workflow_explain",
        "workflow_delete",
    }
    assert "/workflow/" in buttons["workflow_open_n8n"]["url"]
    # The picture went into the same thread.
    done = slack.wait_for("files.completeUploadExternal")[0]
    assert done.args["thread_ts"] == thread_ts
    assert any(data.startswith(b"\x89PNG") for data in slack.uploads.values())
    # Progress was shown step by step before the summary.
    steps = [json.dumps(c.args) for c in slack.named("chat.update")]
    assert any("Validating" in s and "hourglass" in s for s in steps)

    # A reply in the thread is an edit: v2 of the same workflow.
    wf_id = int(buttons["workflow_versions"]["value"])
    full_bot.event(
        {
            "type": "message",
            "channel": "C1",
            "user": "U1",
            "text": "drop the set node",
            "ts": f"{time.time():.6f}",
            "thread_ts": thread_ts,
        }
    )
    slack.wait_for_text("chat.update", "version 2")
    with session_factory() as session:
        wf = session.get(Workflow, wf_id)
        assert wf is not None and wf.head_version == 2

    # Roll back to v1: pick it (diff shown), then the confirmed button.
    full_bot.action(
        {
            "action_id": "rollback_select",
            "type": "static_select",
            "selected_option": {
                "value": f"{wf_id}:1",
                "text": {"type": "plain_text", "text": "v1"},
            },
        }
    )
    picked = slack.wait_for("respond")[0]
    assert "+ node Shape item" in json.dumps(picked.args, ensure_ascii=False)
    confirm = _buttons(picked.args["blocks"])["rollback_confirm"]
    assert confirm["confirm"]["confirm"]["text"] == "Roll back"
    # A double click: two deliveries of the same confirmation roll back once.
    full_bot.action({"action_id": "rollback_confirm", "type": "button", "value": confirm["value"]})
    full_bot.action({"action_id": "rollback_confirm", "type": "button", "value": confirm["value"]})
    posted = slack.wait_for("respond", 3)
    assert "rolled *Morning news" in json.dumps(posted[1].args, ensure_ascii=False)
    full_bot.settle()
    with session_factory() as session:
        versions = session.scalars(
            select(WorkflowVersion.version)
            .where(WorkflowVersion.workflow_id == wf_id)
            .order_by(WorkflowVersion.version)
        ).all()
        assert list(versions) == [1, 2, 3]
    in_thread = [c for c in slack.named("chat.postMessage") if c.args.get("thread_ts") == thread_ts]
    assert any("rolled" in json.dumps(c.args) for c in in_thread)
    # Pictures in the thread: v1, the edit v2 (its changes marked), the rollback's v3.
    uploads = slack.wait_for("files.completeUploadExternal", 3)
    assert all(u.args["thread_ts"] == thread_ts for u in uploads)
    assert "(rollback to v1)" in json.dumps([u.args for u in uploads], ensure_ascii=False)


def test_slack_retry_of_a_mention_starts_one_run(
    full_bot: SlackSender,
    slack: FakeSlack,
    llm: ScriptedLLM,
    session_factory: sessionmaker[Session],
) -> None:
    llm.script(answer(schedule_workflow()))
    event = {
        "type": "app_mention",
        "channel": "C1",
        "user": "U1",
        "text": "<@UBOT> every morning post the news",
        "ts": "1700000001.000100",
    }
    assert full_bot.event(event, event_id="EvSAME").status_code == 200
    retry = full_bot.event(
        event,
        event_id="EvSAME",
        headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"},
    )
    assert retry.status_code == 200
    slack.wait_for_text("chat.update", "is active")
    full_bot.settle()
    with session_factory() as session:
        assert session.scalar(select(func.count(PipelineRun.id))) == 1
    progress_posts = [
        c for c in slack.named("chat.postMessage") if c.args.get("thread_ts") == "1700000001.000100"
    ]
    assert len(progress_posts) == 1


def test_slack_retry_of_a_slash_command_starts_one_run(
    full_bot: SlackSender,
    slack: FakeSlack,
    llm: ScriptedLLM,
    session_factory: sessionmaker[Session],
) -> None:
    llm.script(answer(schedule_workflow()))
    # Both deliveries are acknowledged at once and handled side by side on dispatch threads.
    first = full_bot.command("every morning post the news", trigger_id="trig-same")
    retry = full_bot.command(
        "every morning post the news",
        trigger_id="trig-same",
        headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"},
    )
    assert first.status_code == retry.status_code == 200
    slack.wait_for_text("chat.update", "is active")
    full_bot.settle()
    with session_factory() as session:
        assert session.scalar(select(func.count(PipelineRun.id))) == 1
    roots = [c for c in slack.named("chat.postMessage") if "asked Clixen" in c.args["text"]]
    assert len(roots) == 1
