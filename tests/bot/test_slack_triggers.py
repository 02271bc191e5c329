"""Workflows that start from Slack, through the bot (issue 25): signed Slack requests to the real
Starlette + Bolt app, the Slack Web API fake, real Postgres and the real n8n. The bot's delivery
worker (`bot.triggers.start_triggers`) sends what `core.triggers.receive_event` enqueued."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from slack_sdk import WebClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.services import BotServices
from bot.triggers import SlackTriggerNotifier, start_triggers
from core.catalog import default_catalog
from core.deploy import ValidationFailed, create_workflow_record, deploy_version
from core.kernel.models import Project, TriggerDelivery, TriggerEndpoint, Workflow
from core.kernel.settings import get_settings
from core.kernel.vocabulary import VersionSource
from core.n8n import N8nClient
from core.run_now import run_workflow_now
from core.triggers import OutboxFull, SubscriptionDropped, WorkflowRef
from core.validation.fixes import apply_deterministic_fixes, known_versions
from core.workspace.projects import Actor, create_project
from tests.bot.conftest import (
    BOT_SECRET_KEY,
    TEAM,
    SlackSender,
    bot_settings,
    make_sender,
    pipeline_bot_services,
)
from tests.builders import delete_deployed
from tests.conftest import N8nStack
from tests.doubles.llm_server import ScriptedLLM
from tests.doubles.slack_api import FakeSlack
from tests.waiting import wait_until
from tests.workflows import answer

USER = "U1"
ACTOR = Actor(TEAM, USER)
SUPPORT = "C0SUPPORT"
TS = "1765100000.000100"
TICKET_TEXT = "The printer on floor 3 is on fire"


@pytest.fixture
def trigger_bot(
    slack: FakeSlack,
    database_url: str,
    session_factory: sessionmaker[Session],
    n8n: N8nStack,
    n8n_client: N8nClient,
) -> Iterator[SlackSender]:
    """The bot with n8n and its Slack-trigger delivery worker; #support has USER in it and one
    message; afterwards every workflow and trigger credential the test made leaves n8n."""
    slack.public_channels["support"] = SUPPORT
    slack.members[SUPPORT] = {USER, "U-alice"}
    slack.messages[(SUPPORT, TS)] = {"ts": TS, "text": TICKET_TEXT, "user": "U-alice"}
    settings = bot_settings(slack, database_url, N8N_URL=n8n.url, N8N_API_KEY=n8n.api_key)
    services = BotServices(settings=settings, session_factory=session_factory, n8n=n8n_client)
    services.triggers = start_triggers(
        services, WebClient(token=settings.slack_bot_token, base_url=slack.url)
    )
    try:
        yield from make_sender(settings, services, slack)
    finally:
        delete_deployed(session_factory, n8n_client)
        with session_factory() as s:
            creds = [c for c in s.scalars(select(TriggerEndpoint.n8n_credential_id)) if c]
        for cred in creds:
            n8n_client.delete_credential(cred)


def _workflow(trigger: dict[str, Any], name: str = "tickets") -> dict[str, Any]:
    """A Slack trigger → "Keep" (a NoOp: its input is the payload the workflow received)."""
    return {
        "name": name,
        "nodes": [
            {"name": "When", "typeVersion": 1, "position": [0, 0], **trigger},
            {
                "name": "Keep",
                "type": "n8n-nodes-base.noOp",
                "typeVersion": 1,
                "position": [220, 0],
                "parameters": {},
            },
        ],
        "connections": {"When": {"main": [[{"node": "Keep", "type": "main", "index": 0}]]}},
        "settings": {"executionOrder": "v1"},
    }


def _clixen(**params: Any) -> dict[str, Any]:
    return {"type": "clixen.slackTrigger", "parameters": params}


def _deploy(factory: sessionmaker[Session], n8n: N8nClient, payload: dict[str, Any]) -> int:
    with factory.begin() as s:
        project = s.scalar(select(Project.id).where(Project.team_id == TEAM)) or (
            create_project(session=s, team_id=TEAM, name="main", creator_user_id=USER).id
        )
        wf_id = create_workflow_record(
            session=s, project_id=project, name=payload["name"], created_by=USER
        ).id
    deploy_version(
        session_factory=factory,
        n8n=n8n,
        workflow_id=wf_id,
        json_payload=payload,
        source=VersionSource.imported,
        actor=ACTOR,
        settings=get_settings().model_copy(update={"secret_key": BOT_SECRET_KEY}),
    )
    return wf_id


def _executions(n8n: N8nClient, factory: sessionmaker[Session], wf_id: int) -> list[Any]:
    with factory() as s:
        wf = s.get(Workflow, wf_id)
        assert wf is not None and wf.n8n_workflow_id
        n8n_id = wf.n8n_workflow_id
    return [
        e
        for e in n8n.list_executions(workflow_id=n8n_id, include_data=True).items
        if e.get("status") == "success"
    ]


def _payload(execution: dict[str, Any]) -> dict[str, Any]:
    return dict(execution["data"]["resultData"]["runData"]["Keep"][0]["data"]["main"][0][0]["json"])


def _ran(n8n: N8nClient, factory: sessionmaker[Session], wf_id: int) -> dict[str, Any]:
    done = wait_until(lambda: _executions(n8n, factory, wf_id), 60, "the workflow never ran")
    return _payload(done[0])


def _deliveries(factory: sessionmaker[Session], wf_id: int) -> list[TriggerDelivery]:
    with factory() as s:
        return list(s.scalars(select(TriggerDelivery).where(TriggerDelivery.workflow_id == wf_id)))


def _reaction(emoji: str = "ticket") -> dict[str, Any]:
    return {
        "type": "reaction_added",
        "user": "U-bob",
        "reaction": emoji,
        "item": {"type": "message", "channel": SUPPORT, "ts": TS},
        "item_user": "U-alice",
        "event_ts": f"{time.time():.6f}",
    }


def _shortcut(bot: SlackSender, message: dict[str, Any]) -> Any:
    payload = {
        "type": "message_action",
        "callback_id": "run_workflow_on_message",
        "team": {"id": TEAM, "domain": "acme"},
        "user": {"id": USER, "team_id": TEAM},
        "channel": {"id": SUPPORT, "name": "support"},
        "message": message,
        "message_ts": message["ts"],
        "trigger_id": f"trig-{uuid.uuid4().hex[:8]}",
        "response_url": f"{bot.slack.url}respond",
        "api_app_id": "A1",
        "token": "legacy",
    }
    return bot.post(
        urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded"
    )


def _opened_view(slack: FakeSlack, count: int) -> dict[str, Any]:
    view = slack.wait_for("views.open", count)[count - 1].args["view"]
    return json.loads(view) if isinstance(view, str) else dict(view)


def _submitted(view: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    return {**view, "id": f"V{uuid.uuid4().hex[:6]}", "state": {"values": values}}


TICKETS = {"events": ["reaction_added"], "channels": ["#support"], "emoji": ["ticket"]}
WEEKLY = {
    "events": ["manual"],
    "accepts_message": True,
    "inputs": [
        {"name": "week", "label": "Which week", "required": True},
        {"name": "note", "label": "A note"},
    ],
}


def test_a_signed_reaction_for_the_right_emoji_starts_the_workflow_once(
    trigger_bot: SlackSender, session_factory: sessionmaker[Session], n8n_client: N8nClient
) -> None:
    wf_id = _deploy(session_factory, n8n_client, _workflow(_clixen(**TICKETS)))

    assert trigger_bot.event(_reaction("eyes")).status_code == 200  # the wrong emoji
    event = _reaction()
    assert trigger_bot.event(event, event_id="Ev-ticket").status_code == 200
    got = _ran(n8n_client, session_factory, wf_id)
    assert got["kind"] == "reaction_added" and got["text"] == TICKET_TEXT
    assert got["permalink"].endswith(f"/archives/{SUPPORT}/p{TS.replace('.', '')}")
    # Slack retries the same event: acknowledged, and nothing more is delivered.
    again = trigger_bot.event(event, event_id="Ev-ticket", headers={"X-Slack-Retry-Num": "1"})
    assert again.status_code == 200
    trigger_bot.settle()
    assert [d.status for d in _deliveries(session_factory, wf_id)] == ["delivered"]
    assert len(_executions(n8n_client, session_factory, wf_id)) == 1


def test_clixen_run_asks_the_declared_input_in_a_modal_and_runs_with_it(
    trigger_bot: SlackSender,
    slack: FakeSlack,
    session_factory: sessionmaker[Session],
    n8n_client: N8nClient,
) -> None:
    wf_id = _deploy(session_factory, n8n_client, _workflow(_clixen(**WEEKLY), "weekly report"))

    assert trigger_bot.command("run weekly report for the board").status_code == 200
    modal = _opened_view(slack, 1)
    assert modal["callback_id"] == "workflow_run_inputs"
    assert "*weekly report*" in json.dumps(modal["blocks"])
    assert [b.get("block_id") for b in modal["blocks"] if b["type"] == "input"] == [
        "input_week",
        "input_note",  # optional inputs are asked too
    ]
    answer = trigger_bot.view_submission(
        _submitted(modal, {"input_week": {"value": {"type": "plain_text_input", "value": "W49"}}})
    )
    assert answer.status_code == 200
    got = _ran(n8n_client, session_factory, wf_id)
    assert got["kind"] == "command" and got["inputs"] == {"week": "W49"}
    assert got["text"] == "for the board" and got["user_id"] == USER
    slack.wait_for_text("chat.postEphemeral", "is running")


def test_the_message_shortcut_runs_a_picked_workflow_on_the_message_with_its_input(
    trigger_bot: SlackSender,
    slack: FakeSlack,
    session_factory: sessionmaker[Session],
    n8n_client: N8nClient,
) -> None:
    wf_id = _deploy(session_factory, n8n_client, _workflow(_clixen(**WEEKLY), "weekly report"))
    message = {"type": "message", "ts": TS, "text": TICKET_TEXT, "user": "U-alice"}

    assert _shortcut(trigger_bot, message).status_code == 200
    picker = _opened_view(slack, 1)
    options = picker["blocks"][-1]["element"]["options"]
    assert [o["text"]["text"] for o in options] == ["weekly report"]
    picked = trigger_bot.view_submission(
        _submitted(
            picker,
            {"workflow": {"value": {"type": "static_select", "selected_option": options[0]}}},
        )
    )
    update = picked.json()
    assert update["response_action"] == "update"  # the workflow asks an input first
    inputs_view = update["view"]
    trigger_bot.view_submission(
        _submitted(
            inputs_view,
            {"input_week": {"value": {"type": "plain_text_input", "value": "W50"}}},
        )
    )
    got = _ran(n8n_client, session_factory, wf_id)
    assert got["kind"] == "shortcut" and got["inputs"] == {"week": "W50"}
    assert got["message"]["text"] == TICKET_TEXT and got["message"]["ts"] == TS
    assert got["permalink"].endswith(f"p{TS.replace('.', '')}")


def test_n8ns_slack_trigger_is_refused_and_the_fixers_version_deploys_and_fires(
    trigger_bot: SlackSender, session_factory: sessionmaker[Session], n8n_client: N8nClient
) -> None:
    n8ns = _workflow(
        {
            "type": "n8n-nodes-base.slackTrigger",
            "parameters": {
                "trigger": ["reaction_added"],
                "channelId": {"__rl": True, "mode": "id", "value": SUPPORT},
                "options": {"reactionEmojis": "ticket"},
            },
        }
    )
    with pytest.raises(ValidationFailed) as refused:
        _deploy(session_factory, n8n_client, n8ns)
    assert "one request URL" in str(refused.value) and "Clixen" in str(refused.value)

    fixed, fixes = apply_deterministic_fixes(n8ns, known_versions=known_versions(default_catalog()))
    assert any("Clixen's Slack trigger" in f for f in fixes)
    wf_id = _deploy(session_factory, n8n_client, fixed)
    trigger_bot.event(_reaction())
    got = _ran(n8n_client, session_factory, wf_id)
    assert got["kind"] == "reaction_added" and got["text"] == TICKET_TEXT


def test_a_test_run_sends_the_last_real_event_or_a_sample_of_the_same_shape(
    trigger_bot: SlackSender, session_factory: sessionmaker[Session], n8n_client: N8nClient
) -> None:
    wf_id = _deploy(session_factory, n8n_client, _workflow(_clixen(**TICKETS)))
    settings = get_settings().model_copy(update={"secret_key": BOT_SECRET_KEY})

    def keep_item() -> dict[str, Any]:
        report = run_workflow_now(
            session_factory=session_factory, n8n=n8n_client, workflow_id=wf_id, settings=settings
        )
        assert report.ok, report.message
        assert report.execution is not None
        return _payload(report.execution)

    before = keep_item()  # nothing received yet: a sample in the payload's shape
    assert before["kind"] == "test" and before["reaction"] == "ticket"
    assert set(before) >= {"text", "permalink", "channel_id", "message", "inputs"}

    trigger_bot.event(_reaction())
    _ran(n8n_client, session_factory, wf_id)
    after = keep_item()
    assert after["kind"] == "reaction_added" and after["text"] == TICKET_TEXT
    assert after["event_id"].startswith("test:")


def test_clixen_triggers_app_home_and_the_run_button_and_leaving_the_channel(
    trigger_bot: SlackSender,
    slack: FakeSlack,
    session_factory: sessionmaker[Session],
    n8n_client: N8nClient,
) -> None:
    tickets = _deploy(session_factory, n8n_client, _workflow(_clixen(**TICKETS)))
    weekly = _deploy(session_factory, n8n_client, _workflow(_clixen(events=["manual"]), "weekly"))

    form = {
        "team_id": TEAM,
        "channel_id": SUPPORT,
        "user_id": "U-alice",  # any member of the channel may ask
        "command": "/clixen",
        "text": "triggers",
        "response_url": f"{slack.url}respond",
        "trigger_id": "trig-triggers",
    }
    assert trigger_bot.post(urlencode(form), "application/x-www-form-urlencoded").status_code
    listed = json.dumps(
        slack.wait_for_text("respond", "Workflows that listen").args, ensure_ascii=False
    )
    assert "*tickets* — reaction :ticket: in <#C0SUPPORT>" in listed and "weekly" not in listed

    trigger_bot.event({"type": "app_home_opened", "user": USER, "tab": "home"})
    home = slack.wait_for_text("views.publish", "Started from Slack")
    blocks = json.dumps(home.args, ensure_ascii=False)
    assert "reaction :ticket: in <#C0SUPPORT>" in blocks and f'"value": "{weekly}"' in blocks

    assert trigger_bot.action({"action_id": "workflow_run", "value": str(weekly)}).status_code
    got = _ran(n8n_client, session_factory, weekly)
    assert got["kind"] == "button" and got["user_id"] == USER

    # The creator leaves #support: the tickets workflow stops listening there.
    trigger_bot.event({"type": "member_left_channel", "user": USER, "channel": SUPPORT})
    trigger_bot.settle()
    trigger_bot.event(_reaction())
    trigger_bot.settle()
    assert _deliveries(session_factory, tickets) == []


def test_clixen_run_of_an_unknown_workflow_says_what_to_do(
    bot: SlackSender, slack: FakeSlack
) -> None:
    assert bot.command("run quarterly numbers please").status_code == 200
    said = slack.wait_for_text("respond", "No workflow of your current project")
    assert "/clixen list" in json.dumps(said.args)
    assert not slack.named("views.open")


def test_a_notice_is_posted_in_the_workflows_thread(slack: FakeSlack) -> None:
    notifier = SlackTriggerNotifier(WebClient(token="xoxb-test", base_url=slack.url), _now)
    ref = WorkflowRef(7, "Tickets", 1, "C0THREAD", "1700000000.000100")
    notifier.notify(SubscriptionDropped(ref, SUPPORT, USER, "left_channel"))
    notifier.notify(OutboxFull(9000))  # nowhere to post: logged only
    posted = slack.wait_for("chat.postMessage")
    assert len(posted) == 1
    assert posted[0].args["channel"] == "C0THREAD"
    assert posted[0].args["thread_ts"] == "1700000000.000100"
    assert "stopped listening in <#C0SUPPORT>" in posted[0].args["text"]


def _now(work: Any) -> None:
    work()


@pytest.fixture
def pipeline_trigger_bot(
    slack: FakeSlack,
    database_url: str,
    session_factory: sessionmaker[Session],
    llm: ScriptedLLM,
    n8n: N8nStack,
    n8n_client: N8nClient,
) -> Iterator[SlackSender]:
    """The bot with the pipeline (scripted LLM, real n8n) and its Slack-trigger worker."""
    slack.public_channels["support"] = SUPPORT
    slack.members[SUPPORT] = {USER, "U-alice"}
    slack.messages[(SUPPORT, TS)] = {"ts": TS, "text": TICKET_TEXT, "user": "U-alice"}
    with pipeline_bot_services(
        slack, database_url, session_factory, llm, n8n, n8n_client
    ) as services:
        services.triggers = start_triggers(
            services, WebClient(token=services.settings.slack_bot_token, base_url=slack.url)
        )
        try:
            yield from make_sender(services.settings, services, slack)
        finally:
            with session_factory() as s:
                creds = [c for c in s.scalars(select(TriggerEndpoint.n8n_credential_id)) if c]
            for cred in creds:
                n8n_client.delete_credential(cred)


def test_a_request_whose_model_used_n8ns_slack_trigger_deploys_clixens_joins_and_fires(
    pipeline_trigger_bot: SlackSender,
    slack: FakeSlack,
    llm: ScriptedLLM,
    session_factory: sessionmaker[Session],
    n8n_client: N8nClient,
) -> None:
    n8ns = _workflow(
        {
            "type": "n8n-nodes-base.slackTrigger",
            "parameters": {
                "trigger": ["reaction_added"],
                "channelId": {"__rl": True, "mode": "id", "value": SUPPORT},
                "options": {"reactionEmojis": "ticket"},
            },
        }
    )
    llm.script(answer(n8ns, "Keeps each message marked with :ticket:."))
    command = "when someone adds a :ticket: reaction to a message in #support, keep it"
    assert pipeline_trigger_bot.command(command).status_code == 200

    summary = slack.wait_for_text("chat.update", "is active", timeout=120).args
    text = json.dumps(summary["blocks"], ensure_ascii=False)
    assert "When (reaction :ticket: in C0SUPPORT) → Keep" in text  # Clixen's trigger, in words
    assert [c.args["channel"] for c in slack.named("conversations.join")] == [SUPPORT]
    with session_factory() as s:
        wf_id = s.scalars(select(Workflow.id).order_by(Workflow.id.desc())).first()
    assert wf_id is not None
    pipeline_trigger_bot.event(_reaction())
    got = _ran(n8n_client, session_factory, wf_id)
    assert got["kind"] == "reaction_added" and got["text"] == TICKET_TEXT
