"""Signed Slack requests through /slack/events of the real app; Slack's Web API is the fake."""

from __future__ import annotations

import copy
import json
import time
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from core.deploy import create_workflow_record
from core.kernel.models import ProjectMember, Secret, User, WorkflowVersion
from core.workspace.projects import create_project
from tests.bot.conftest import TEAM, SlackSender
from tests.doubles.slack_api import FakeSlack


def _texts(call: Any) -> str:
    return json.dumps(call.args, ensure_ascii=False)


def test_healthz(bot: SlackSender) -> None:
    assert bot.http.get("/healthz").json() == {"status": "ok"}


def test_bad_signature_and_stale_timestamp_are_refused(bot: SlackSender, slack: FakeSlack) -> None:
    assert bot.command("help", signature="v0=" + "0" * 64).status_code == 401
    assert bot.command("help", timestamp=int(time.time()) - 600).status_code == 401
    bot.settle()
    assert slack.named("respond") == []


def test_help_is_acknowledged_and_answered_privately(bot: SlackSender, slack: FakeSlack) -> None:
    response = bot.command("help")
    assert response.status_code == 200
    reply = slack.wait_for("respond")[0]
    assert reply.args["response_type"] == "ephemeral"
    assert "/clixen rollback" in _texts(reply)


def test_request_without_llm_names_the_settings_to_set(bot: SlackSender, slack: FakeSlack) -> None:
    bot.command("every morning post the news to #general")
    reply = slack.wait_for("respond")[0]
    assert "OPENAI_API_KEY" in _texts(reply) and "OPENAI_BASE_URL" in _texts(reply)
    bot.settle()
    assert slack.named("chat.postMessage") == []


def _workflows(factory: sessionmaker[Session], project_id: int, n: int) -> None:
    with factory.begin() as session:
        for i in range(n):
            create_workflow_record(
                session=session, project_id=project_id, name=f"flow {i:02d}", created_by="U1"
            )


def _names_on(call: Any) -> list[str]:
    names = []
    for block in call.args["view"]["blocks"]:
        text = block.get("text", {}).get("text", "")
        if "flow " in text and block["type"] == "section" and "(#" in text:
            names.append(text.split("*")[1])
    return names


def _button(call: Any, action_id: str) -> dict[str, Any] | None:
    for block in call.args["view"]["blocks"]:
        for el in block.get("elements", []):
            if el.get("action_id") == action_id:
                return el  # type: ignore[no-any-return]
    return None


def test_app_home_paginates_with_next_and_previous(
    bot: SlackSender, slack: FakeSlack, session_factory: sessionmaker[Session]
) -> None:
    with session_factory.begin() as session:
        pid = create_project(session=session, team_id=TEAM, name="default", creator_user_id="U1").id
    _workflows(session_factory, pid, 23)

    bot.event({"type": "app_home_opened", "user": "U1", "channel": "D1", "tab": "home"})
    first = slack.wait_for("views.publish", 1)[0]
    assert first.args["user_id"] == "U1"
    assert _names_on(first) == [f"flow {i:02d}" for i in range(22, 12, -1)]
    assert _button(first, "home_page_prev") is None
    nxt = _button(first, "home_page_next")
    assert nxt is not None

    bot.home_action({"action_id": "home_page_next", "type": "button", "value": nxt["value"]})
    second = slack.wait_for("views.publish", 2)[1]
    assert _names_on(second) == [f"flow {i:02d}" for i in range(12, 2, -1)]
    nxt2 = _button(second, "home_page_next")
    assert nxt2 is not None
    bot.home_action({"action_id": "home_page_next", "type": "button", "value": nxt2["value"]})
    third = slack.wait_for("views.publish", 3)[2]
    assert _names_on(third) == ["flow 02", "flow 01", "flow 00"]
    assert _button(third, "home_page_next") is None

    prev = _button(third, "home_page_prev")
    assert prev is not None
    bot.home_action({"action_id": "home_page_prev", "type": "button", "value": prev["value"]})
    back = slack.wait_for("views.publish", 4)[3]
    assert _names_on(back) == _names_on(second)


def test_project_switch_is_remembered(
    bot: SlackSender, slack: FakeSlack, session_factory: sessionmaker[Session]
) -> None:
    bot.command("project ops")
    reply = slack.wait_for("respond")[0]
    assert "Current project: *ops*" in _texts(reply)

    bot.event({"type": "app_home_opened", "user": "U1", "channel": "D1", "tab": "home"})
    home = slack.wait_for("views.publish")[0]
    switcher = home.args["view"]["blocks"][1]["accessory"]
    assert switcher["initial_option"]["text"]["text"] == "ops (owner)"
    default_id = next(
        o["value"] for o in switcher["options"] if o["text"]["text"].startswith("default")
    )

    bot.home_action(
        {
            "action_id": "home_project_select",
            "type": "static_select",
            "selected_option": {
                "value": default_id,
                "text": {"type": "plain_text", "text": "default"},
            },
        }
    )
    slack.wait_for("views.publish", 2)
    with session_factory() as session:
        user = session.scalar(select(User).where(User.team_id == TEAM, User.user_id == "U1"))
        assert user is not None and user.last_project_id == int(default_id)


def test_switching_to_a_project_of_another_workspace_is_refused(
    bot: SlackSender, slack: FakeSlack, session_factory: sessionmaker[Session]
) -> None:
    with session_factory.begin() as session:
        other = create_project(
            session=session, team_id="T0OTHER", name="secret-plans", creator_user_id="U1"
        ).id
    bot.home_action(
        {
            "action_id": "home_project_select",
            "type": "static_select",
            "selected_option": {"value": str(other), "text": {"type": "plain_text", "text": "x"}},
        }
    )
    refusal = slack.wait_for("chat.postMessage")[0]
    assert "access" in refusal.args["text"]
    bot.settle()
    assert slack.named("views.publish") == []


def test_forged_rollback_for_another_project_is_refused_and_changes_nothing(
    bot: SlackSender, slack: FakeSlack, session_factory: sessionmaker[Session]
) -> None:
    with session_factory.begin() as session:
        theirs = create_project(
            session=session, team_id=TEAM, name="theirs", creator_user_id="U2"
        ).id
        wf = create_workflow_record(
            session=session, project_id=theirs, name="payroll", created_by="U2"
        )
        for v in (1, 2):
            session.add(
                WorkflowVersion(
                    workflow_id=wf.id,
                    version=v,
                    json_payload={"nodes": []},
                    checksum=f"c{v}",
                    source="generate",
                    status="deployed" if v == 2 else "superseded",
                    created_by="U2",
                )
            )
        wf.head_version = 2
        wf_id = wf.id
    # U1 is no member of "theirs" but forges the confirmed button's value.
    bot.action({"action_id": "rollback_confirm", "type": "button", "value": f"{wf_id}:1"})
    reply = slack.wait_for("respond")[0]
    assert "not a member" in _texts(reply)
    with session_factory() as session:
        count = session.scalar(
            select(func.count(WorkflowVersion.id)).where(WorkflowVersion.workflow_id == wf_id)
        )
        assert count == 2


def test_viewer_cannot_open_the_rollback_picker(
    bot: SlackSender, slack: FakeSlack, session_factory: sessionmaker[Session]
) -> None:
    with session_factory.begin() as session:
        pid = create_project(session=session, team_id=TEAM, name="shared", creator_user_id="U2").id
        session.add(ProjectMember(project_id=pid, user_id="U1", role="viewer"))
        wf_id = create_workflow_record(
            session=session, project_id=pid, name="report", created_by="U2"
        ).id
    bot.action({"action_id": "workflow_rollback", "type": "button", "value": str(wf_id)})
    reply = slack.wait_for("respond")[0]
    assert "viewer" in _texts(reply) and "static_select" not in _texts(reply)


def test_secret_modal_opens_and_its_submission_is_stored_encrypted(
    bot: SlackSender, slack: FakeSlack, session_factory: sessionmaker[Session]
) -> None:
    bot.command("secret")
    opened = slack.wait_for("views.open")[0]
    view = copy.deepcopy(opened.args["view"])  # the recorded call stays as Slack saw it
    assert view["callback_id"] == "secret_submit"
    view["state"] = {
        "values": {
            "name": {"value": {"type": "plain_text_input", "value": "GITHUB_TOKEN"}},
            "value": {"value": {"type": "plain_text_input", "value": "ghp_supersecretvalue123"}},
            "credential_type": {"value": {"type": "plain_text_input", "value": None}},
        }
    }
    response = bot.view_submission(view)
    assert response.status_code == 200, response.text
    assert response.text == "", response.text
    slack.wait_for("chat.postMessage")
    with session_factory() as session:
        row = session.scalar(select(Secret).where(Secret.name == "GITHUB_TOKEN"))
        assert row is not None and b"ghp_supersecretvalue123" not in bytes(row.ciphertext)
    assert "ghp_supersecretvalue123" not in slack.all_text()


def test_unknown_error_shows_an_error_id(bot: SlackSender, slack: FakeSlack) -> None:
    bot.action({"action_id": "home_page_next", "type": "button", "value": "not json"})
    reply = slack.wait_for("respond")[0]
    assert "not valid" in _texts(reply)
