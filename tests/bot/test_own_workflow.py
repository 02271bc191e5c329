"""Owning a workflow from Slack, on the real n8n and the real database (Slack's Web API faked):
pause and resume from the summary and App Home, delete (with its test copies) refused to a viewer
and to a forged button, restored by the owner; the runs list; explain."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.deploy import deploy_new_workflow
from core.kernel.models import PipelineRun, Project, Workflow, WorkflowEvent
from core.kernel.vocabulary import Role, RunKind, RunState, VersionSource
from core.n8n import N8nClient, N8nNotFound
from core.run_now.copies import TEST_PREFIX
from core.run_now.sweep import record_copy, record_created
from core.usecases import Actor
from core.usecases.lifecycle import restore
from core.workspace.projects import add_member
from tests.bot.conftest import TEAM, SlackSender, make_sender, pipeline_bot_services
from tests.builders import new_project
from tests.conftest import N8nStack
from tests.doubles.llm_server import ScriptedLLM
from tests.doubles.slack_api import FakeSlack
from tests.waiting import wait_until

OWNER, VIEWER = "U1", "U2VIEW"
CHANNEL, THREAD = "C1", "1700000000.000050"
SUMMARY = {
    "type": "message",
    "message_ts": "1700000000.000060",
    "channel_id": CHANNEL,
    "is_ephemeral": False,
}


@pytest.fixture
def own_bot(
    slack: FakeSlack,
    database_url: str,
    session_factory: sessionmaker[Session],
    llm: ScriptedLLM,
    n8n: N8nStack,
    n8n_client: N8nClient,
) -> Iterator[SlackSender]:
    with pipeline_bot_services(
        slack, database_url, session_factory, llm, n8n, n8n_client
    ) as services:
        yield from make_sender(services.settings, services, slack)


def every_five_seconds(name: str) -> dict[str, Any]:
    """Schedule (every 5 s) → Set "Stamp": runs on its own, quickly, again and again."""
    return {
        "name": name,
        "nodes": [
            {
                "id": "t",
                "name": "Every 5 seconds",
                "type": "n8n-nodes-base.scheduleTrigger",
                "typeVersion": 1.2,
                "position": [0, 0],
                "parameters": {"rule": {"interval": [{"field": "seconds", "secondsInterval": 5}]}},
            },
            {
                "id": "s",
                "name": "Stamp",
                "type": "n8n-nodes-base.set",
                "typeVersion": 3.4,
                "position": [220, 0],
                "parameters": {},
            },
        ],
        "connections": {
            "Every 5 seconds": {"main": [[{"node": "Stamp", "type": "main", "index": 0}]]}
        },
        "settings": {"executionOrder": "v1"},
    }


def deployed(
    bot: SlackSender, session_factory: sessionmaker[Session], n8n_client: N8nClient, name: str
) -> tuple[int, str]:
    """A workflow OWNER deployed (v1 active in n8n) reporting in CHANNEL/THREAD; (id, n8n id)."""
    assert bot.services is not None
    project_id = new_project(session_factory, team_id=TEAM, user_id=OWNER)
    with session_factory.begin() as session:
        add_member(
            session=session,
            project_id=project_id,
            actor_user_id=OWNER,
            user_id=VIEWER,
            role=Role.viewer,
        )
    version = deploy_new_workflow(
        session_factory=session_factory,
        n8n=n8n_client,
        project_id=project_id,
        name=name,
        json_payload=every_five_seconds(name),
        source=VersionSource.generate,
        actor=Actor(TEAM, OWNER),
        settings=bot.services.settings,
    )
    with session_factory.begin() as session:
        wf = session.get(Workflow, version.workflow_id)
        assert wf is not None and wf.n8n_workflow_id is not None
        wf.slack_channel_id, wf.slack_thread_ts = CHANNEL, THREAD
        return wf.id, wf.n8n_workflow_id


def _buttons(blocks: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    found = {}
    for b in blocks:
        for e in b.get("elements", []) if b["type"] == "actions" else [b.get("accessory") or {}]:
            if "action_id" in e:
                found[e["action_id"]] = e
    return found


def _newest_execution(n8n_client: N8nClient, n8n_id: str) -> str | None:
    items = n8n_client.list_executions(workflow_id=n8n_id, limit=1).items
    return str(items[0]["id"]) if items else None


def test_pause_from_the_summary_and_resume_from_app_home(
    own_bot: SlackSender,
    slack: FakeSlack,
    session_factory: sessionmaker[Session],
    n8n_client: N8nClient,
) -> None:
    wf_id, n8n_id = deployed(own_bot, session_factory, n8n_client, "Ticker")
    assert n8n_client.wait_for_execution(n8n_id, timeout_s=60) is not None  # it runs on its own

    # A viewer's click is refused and changes nothing.
    click = {"action_id": "workflow_pause", "type": "button", "value": str(wf_id)}
    own_bot.action(click, user=VIEWER, container=SUMMARY)
    slack.wait_for_text("respond", "this needs editor rights")
    assert n8n_client.get_workflow(n8n_id)["active"] is True

    own_bot.action(click, container=SUMMARY)
    summary = slack.wait_for_text("chat.update", "is paused").args
    assert summary["ts"] == SUMMARY["message_ts"] and summary["channel"] == CHANNEL
    buttons = _buttons(summary["blocks"])
    assert "workflow_resume" in buttons and "workflow_pause" not in buttons
    assert n8n_client.get_workflow(n8n_id)["active"] is False
    told = slack.wait_for_text("chat.postMessage", "paused *Ticker*").args
    assert told["thread_ts"] == THREAD and "<@U1>" in told["text"]

    # App Home says paused, and offers Resume in the row's menu.
    own_bot.event({"type": "app_home_opened", "user": OWNER, "channel": "D1", "tab": "home"})
    home = slack.wait_for_text("views.publish", "Ticker").args
    row = next(b for b in home["view"]["blocks"] if "Ticker" in json.dumps(b))
    assert "paused" in row["text"]["text"]
    assert row["accessory"]["options"][0]["value"] == f"resume:{wf_id}"

    # The versions view lists the pause: who and when.
    own_bot.action({"action_id": "workflow_versions", "type": "button", "value": str(wf_id)})
    versions = slack.wait_for_text("respond", "paused by <@U1>").args
    assert "workflow_resume" in _buttons(versions["blocks"])

    # Resume from App Home: active again, and the schedule fires again.
    before = _newest_execution(n8n_client, n8n_id)
    publishes = len(slack.named("views.publish"))
    own_bot.home_action(
        {
            "action_id": "home_workflow_menu",
            "type": "overflow",
            "selected_option": {
                "value": f"resume:{wf_id}",
                "text": {"type": "plain_text", "text": "Resume"},
            },
        }
    )
    wait_until(lambda: n8n_client.get_workflow(n8n_id)["active"] is True, 60, "not resumed")
    again = n8n_client.wait_for_execution(n8n_id, after_id=before, timeout_s=60)
    assert again is not None and again["status"] == "success"
    slack.wait_for_text("views.publish", "active", after=publishes)
    with session_factory() as session:
        kinds = session.scalars(
            select(WorkflowEvent.kind)
            .where(WorkflowEvent.workflow_id == wf_id)
            .order_by(WorkflowEvent.id)
        ).all()
    assert list(kinds) == ["paused", "resumed"]

    # Paused by command, the latest run summary (wherever it is) says so too.
    record_summary(session_factory, wf_id, "1700000000.000070")
    own_bot.command("pause Ticker")
    shown = slack.wait_for_text("chat.update", "is paused", after=1).args
    assert shown["ts"] == "1700000000.000070" and shown["channel"] == CHANNEL
    wait_until(lambda: n8n_client.get_workflow(n8n_id)["active"] is False, 60, "not paused")


def record_summary(session_factory: sessionmaker[Session], workflow_id: int, ts: str) -> None:
    """The workflow's latest run, finished, its summary posted as message `ts` in CHANNEL."""
    with session_factory.begin() as session:
        wf = session.get(Workflow, workflow_id)
        assert wf is not None
        session.add(
            PipelineRun(
                project_id=wf.project_id,
                workflow_id=workflow_id,
                team_id=TEAM,
                user_id=OWNER,
                kind=RunKind.edit,
                request="also stamp the time",
                state=RunState.succeeded,
                slack_channel_id=CHANNEL,
                slack_thread_ts=THREAD,
                slack_message_ts=ts,
            )
        )


def _test_copy(
    session_factory: sessionmaker[Session], n8n_client: N8nClient, project_id: int, name: str
) -> str:
    """A recorded test copy of the workflow `name` in n8n (as a test run leaves one)."""
    record = record_copy(session_factory, project_id=project_id, path=uuid.uuid4().hex)
    copy = every_five_seconds(f"{TEST_PREFIX}{name}")
    n8n_id = str(n8n_client.create_workflow(copy)["id"])
    record_created(session_factory, record, n8n_id)
    return n8n_id


def test_delete_is_confirmed_refused_to_a_viewer_and_a_forged_button_and_restorable(
    own_bot: SlackSender,
    slack: FakeSlack,
    session_factory: sessionmaker[Session],
    n8n_client: N8nClient,
) -> None:
    assert own_bot.services is not None
    wf_id, n8n_id = deployed(own_bot, session_factory, n8n_client, "Newsfeed")
    with session_factory() as session:
        wf = session.get(Workflow, wf_id)
        assert wf is not None
        project_id = wf.project_id
    copy_id = _test_copy(session_factory, n8n_client, project_id, "Newsfeed")
    other_copy = _test_copy(session_factory, n8n_client, project_id, "Someone else's")

    # The summary's Delete button asks first (Slack's confirm dialog).
    own_bot.command("delete Newsfeed")
    asked = slack.wait_for_text("respond", "Delete *Newsfeed*?").args
    delete = _buttons(asked["blocks"])["workflow_delete"]
    assert delete["confirm"]["confirm"]["text"] == "Delete" and delete["style"] == "danger"

    click = {"action_id": "workflow_delete", "type": "button", "value": delete["value"]}
    own_bot.action(click, user=VIEWER)
    slack.wait_for_text("respond", "this needs editor rights")
    # A forged button from another workspace names this workflow's id.
    new_project(session_factory, team_id="T0OTHER", user_id="UEVIL")
    own_bot.action(click, user="UEVIL", team="T0OTHER")
    slack.wait_for_text("respond", "serves the Slack workspace it is installed in")
    own_bot.settle()
    assert n8n_client.get_workflow(n8n_id)["id"] == n8n_id

    own_bot.action(click, container=SUMMARY)
    slack.wait_for_text("chat.update", "is deleted")
    with pytest.raises(N8nNotFound):
        n8n_client.get_workflow(n8n_id)
    with pytest.raises(N8nNotFound):
        n8n_client.get_workflow(copy_id)
    assert n8n_client.get_workflow(other_copy)["id"] == other_copy  # not this workflow's
    n8n_client.delete_workflow(other_copy)
    told = slack.wait_for_text("chat.postMessage", "deleted *Newsfeed*").args
    assert told["thread_ts"] == THREAD and "restore it for 30 days" in told["text"]

    # The versions are kept; a viewer cannot restore, the owner can.
    from core.kernel.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        restore(
            session_factory,
            n8n=n8n_client,
            settings=own_bot.services.settings,
            actor=Actor(TEAM, VIEWER),
            workflow_id=wf_id,
        )
    back = restore(
        session_factory,
        n8n=n8n_client,
        settings=own_bot.services.settings,
        actor=Actor(TEAM, OWNER),
        workflow_id=wf_id,
    )
    assert (back.from_version, back.new_version) == (1, 2)
    with session_factory() as session:
        wf = session.get(Workflow, wf_id)
        assert wf is not None and wf.status == "active" and wf.n8n_workflow_id
        restored_id = wf.n8n_workflow_id
    assert n8n_client.get_workflow(restored_id)["active"] is True


def test_runs_and_explain_from_the_summary(
    own_bot: SlackSender,
    slack: FakeSlack,
    llm: ScriptedLLM,
    session_factory: sessionmaker[Session],
    n8n_client: N8nClient,
) -> None:
    wf_id, n8n_id = deployed(own_bot, session_factory, n8n_client, "Pulse")
    first = n8n_client.wait_for_execution(n8n_id, timeout_s=60)
    assert first is not None
    own_bot.action({"action_id": "workflow_runs", "type": "button", "value": str(wf_id)})
    runs = slack.wait_for_text("respond", "Runs of Pulse").args
    text = json.dumps(runs["blocks"], ensure_ascii=False)
    assert f"execution {first['id']}" in text and "success" in text
    assert f"/workflow/{n8n_id}/executions/{first['id']}" in text

    llm.script("Every five seconds it stamps an item. It posts nowhere.")
    own_bot.action({"action_id": "workflow_explain", "type": "button", "value": str(wf_id)})
    explained = slack.wait_for_text("respond", "What Pulse does").args
    text = json.dumps(explained["blocks"], ensure_ascii=False)
    assert ":sparkles: Every five seconds it stamps an item." in text
    assert "every 5 seconds" in text and "Stamp" in text

    # Rename from the summary: a form, then the name changes here and in n8n.
    own_bot.action({"action_id": "workflow_rename", "type": "button", "value": str(wf_id)})
    form = slack.wait_for("views.open")[-1].args["view"]
    assert form["private_metadata"] == str(wf_id)
    assert form["blocks"][0]["element"]["initial_value"] == "Pulse"
    own_bot.view_submission(
        {
            **form,
            "id": "V9",
            "state": {"values": {"name": {"value": {"type": "plain_text_input", "value": "Beat"}}}},
        }
    )
    told = slack.wait_for_text("chat.postMessage", "renamed *Pulse* to *Beat*").args
    assert told["thread_ts"] == THREAD
    assert n8n_client.get_workflow(n8n_id)["name"] == "Beat"
    # And from the command: `#id to NEW NAME`.
    own_bot.command(f"rename #{wf_id} to Heartbeat")
    slack.wait_for_text("respond", "renamed *Beat* to *Heartbeat*")
    assert n8n_client.get_workflow(n8n_id)["name"] == "Heartbeat"


def test_digest_is_turned_on_in_a_picked_channel_by_an_owner_only(
    bot: SlackSender, slack: FakeSlack, session_factory: sessionmaker[Session]
) -> None:
    project_id = new_project(session_factory, team_id=TEAM, user_id=OWNER)
    with session_factory.begin() as session:
        add_member(
            session=session,
            project_id=project_id,
            actor_user_id=OWNER,
            user_id=VIEWER,
            role=Role.editor,
        )
    bot.command("digest weekly <#C0OPS|team-ops>", user=VIEWER)
    slack.wait_for_text("respond", "this needs owner rights")
    bot.command("digest weekly <#C0OPS|team-ops>")
    slack.wait_for_text("respond", "A weekly digest of project")
    bot.command("digest daily #team-ops")
    slack.wait_for_text("respond", "Pick the channel from Slack")
    with session_factory() as session:
        project = session.get(Project, project_id)
        assert project is not None
        assert (project.digest_every, project.digest_channel) == ("weekly", "C0OPS")
    bot.command("digest off")
    slack.wait_for_text("respond", "is off")
    with session_factory() as session:
        project = session.get(Project, project_id)
        assert project is not None and project.digest_every is None


def _menu(bot: SlackSender, value: str, user: str = OWNER) -> None:
    bot.home_action(
        {
            "action_id": "home_workflow_menu",
            "type": "overflow",
            "selected_option": {"value": value, "text": {"type": "plain_text", "text": value}},
        },
        user=user,
    )


def test_app_home_menu_explains_lists_runs_and_deletes_after_its_form(
    own_bot: SlackSender,
    slack: FakeSlack,
    session_factory: sessionmaker[Session],
    n8n_client: N8nClient,
) -> None:
    wf_id, n8n_id = deployed(own_bot, session_factory, n8n_client, "Metronome")
    assert n8n_client.wait_for_execution(n8n_id, timeout_s=60) is not None

    # Runs and Explain open a modal at once, then fill it.
    _menu(own_bot, f"runs:{wf_id}")
    slack.wait_for_text("views.open", "Reading it from n8n")
    filled = slack.wait_for_text("views.update", "Runs of Metronome").args
    assert "success" in json.dumps(filled["view"]["blocks"])
    _menu(own_bot, f"explain:{wf_id}")
    slack.wait_for_text("views.update", "What Metronome does")

    # A forged menu value naming another workspace's workflow is refused.
    new_project(session_factory, team_id="T0OTHER", user_id="UEVIL")
    own_bot.home_action(
        {
            "action_id": "home_workflow_menu",
            "type": "overflow",
            "selected_option": {
                "value": f"pause:{wf_id}",
                "text": {"type": "plain_text", "text": "x"},
            },
        },
        user="UEVIL",
        team="T0OTHER",
    )
    own_bot.settle()
    assert n8n_client.get_workflow(n8n_id)["active"] is True

    # Delete asks in a form first; submitting it deletes.
    _menu(own_bot, f"delete:{wf_id}")
    form = slack.wait_for_text("views.open", "Delete *Metronome*?").args["view"]
    assert form["private_metadata"] == str(wf_id) and form["submit"]["text"] == "Delete"
    published = len(slack.named("views.publish"))
    own_bot.view_submission({**form, "id": "V7", "state": {"values": {}}})
    slack.wait_for_text("chat.postMessage", "deleted *Metronome*")
    with pytest.raises(N8nNotFound):
        n8n_client.get_workflow(n8n_id)
    # App Home, published again, lists it no more.
    home = slack.wait_for("views.publish", published + 1)[-1].args
    assert "Metronome" not in json.dumps(home["view"]["blocks"])
