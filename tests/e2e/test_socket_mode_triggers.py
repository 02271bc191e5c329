"""Slack triggers over Socket Mode, as a team without a public URL runs Clixen: the real
`clixen serve` process (Socket Mode fake, Slack Web API fake, real n8n) acknowledges a
`reaction_added` envelope and its delivery worker starts the workflow; a link button that n8n's
own Slack node posted is acknowledged (in Socket Mode an unacknowledged envelope is an error
icon for the user: Bolt only acks what a listener or the error handler answered with a 200)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from slack_sdk import WebClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.trigger_access import SlackChannelAccess
from core.deploy import create_workflow_record, deploy_version
from core.kernel.models import TriggerEndpoint, Workflow
from core.kernel.settings import get_settings
from core.kernel.vocabulary import VersionSource
from core.n8n import N8nClient
from core.triggers import install
from core.workspace.projects import Actor, create_project
from tests.e2e.test_socket_mode import (  # noqa: F401
    SOCKET_SECRET_KEY,
    TEAM,
    USER,
    SocketApp,
    socket_app,
)
from tests.waiting import wait_until

SUPPORT = "C0SUPPORT"
TS = "1765100000.000100"
TEXT = "The printer on floor 3 is on fire"


@pytest.fixture
def support(
    socket_app: SocketApp,  # noqa: F811 (the fixture imported above)
    n8n_client: N8nClient,
    session_factory: sessionmaker[Session],
) -> Iterator[SocketApp]:
    """#support with USER in it and one message, readable by this test process's deploys too."""
    slack = socket_app.slack
    slack.public_channels["support"] = SUPPORT
    slack.members[SUPPORT] = {USER}
    slack.messages[(SUPPORT, TS)] = {"ts": TS, "text": TEXT, "user": "U-alice"}
    install(SlackChannelAccess(WebClient(base_url=slack.url), cache_s=0))
    try:
        yield socket_app
    finally:
        install(None)
        with session_factory() as s:
            creds = [c for c in s.scalars(select(TriggerEndpoint.n8n_credential_id)) if c]
        for cred in creds:
            n8n_client.delete_credential(cred)


def _deploy(factory: sessionmaker[Session], n8n: N8nClient) -> str:
    with factory.begin() as s:
        project = create_project(session=s, team_id=TEAM, name="main", creator_user_id=USER)
        wf_id = create_workflow_record(
            session=s, project_id=project.id, name="tickets", created_by=USER
        ).id
    deploy_version(
        session_factory=factory,
        n8n=n8n,
        workflow_id=wf_id,
        json_payload={
            "name": "tickets",
            "nodes": [
                {
                    "name": "When",
                    "type": "clixen.slackTrigger",
                    "typeVersion": 1,
                    "position": [0, 0],
                    "parameters": {
                        "events": ["reaction_added"],
                        "channels": ["#support"],
                        "emoji": ["ticket"],
                    },
                },
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
        },
        source=VersionSource.imported,
        actor=Actor(TEAM, USER),
        settings=get_settings().model_copy(update={"secret_key": SOCKET_SECRET_KEY}),
    )
    with factory() as s:
        wf = s.get(Workflow, wf_id)
        assert wf is not None and wf.n8n_workflow_id
        return wf.n8n_workflow_id


def test_a_reaction_over_socket_mode_starts_the_workflow_and_a_link_button_is_acked(
    support: SocketApp, session_factory: sessionmaker[Session], n8n_client: N8nClient
) -> None:
    n8n_id = _deploy(session_factory, n8n_client)
    reaction: dict[str, Any] = {
        "type": "reaction_added",
        "user": "U-bob",
        "reaction": "ticket",
        "item": {"type": "message", "channel": SUPPORT, "ts": TS},
        "event_ts": f"{time.time():.6f}",
    }
    support.event(reaction)  # acknowledged (deliver waits for the ack)

    def ran() -> list[Any]:
        found = n8n_client.list_executions(workflow_id=n8n_id, include_data=True).items
        return [e for e in found if e.get("status") == "success"]

    done = wait_until(ran, 90, lambda: "the workflow never ran:\n" + support.output())
    item = done[0]["data"]["resultData"]["runData"]["Keep"][0]["data"]["main"][0][0]["json"]
    assert item["text"] == TEXT and item["reaction"] == "ticket"

    support.action(
        {
            "type": "button",
            "action_id": "approve-4b1d",
            "text": {"type": "plain_text", "text": "Approve"},
            "url": "https://n8n.example.com/webhook-waiting/42?approved=true",
        }
    )  # acknowledged, or `deliver` fails after 10 s
