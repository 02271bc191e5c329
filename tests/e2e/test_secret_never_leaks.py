"""A project secret used by a generated workflow: bound to a real n8n credential at deploy, and
its value never reaches the LLM, Slack or the logs (asserted on what the doubles recorded)."""

from __future__ import annotations

import copy
import json
import logging
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.credentials import secrets as project_secrets
from core.deploy import create_workflow_record, deploy_version
from core.kernel.errors import SettingsError
from core.kernel.models import Project, Secret, Workflow, WorkflowVersion
from core.n8n import N8nClient
from core.pipeline import PipelineServices, execute_run, start_run
from core.workspace.projects import Actor
from tests.bot.conftest import TEAM as BOT_TEAM
from tests.bot.conftest import SlackSender
from tests.conftest import N8nStack
from tests.doubles.llm_server import ScriptedLLM
from tests.doubles.slack_api import FakeSlack
from tests.e2e.conftest import SECRET_KEY, TEAM, USER, cleanup_n8n, e2e_settings

VALUE = "xoxb-SECRET-VALUE-123"


def slack_post_workflow(name: str = "Morning hello") -> dict[str, Any]:
    """What an obedient LLM returns: the Slack node names the secret, as the prompt tells it."""
    return {
        "name": name,
        "nodes": [
            {
                "id": "n1",
                "name": "Every morning",
                "type": "n8n-nodes-base.scheduleTrigger",
                "typeVersion": 1.2,
                "position": [0, 0],
                "parameters": {"rule": {"interval": [{"field": "hours", "hoursInterval": 24}]}},
            },
            {
                "id": "n2",
                "name": "Post to Slack",
                "type": "n8n-nodes-base.slack",
                "typeVersion": 2.3,
                "position": [220, 0],
                "parameters": {
                    "select": "channel",
                    "channelId": {"__rl": True, "value": "C0123ABCD", "mode": "id"},
                    "text": "good morning",
                },
                "credentials": {"slackApi": {"name": "SLACK_TOKEN"}},
            },
        ],
        "connections": {
            "Every morning": {"main": [[{"node": "Post to Slack", "type": "main", "index": 0}]]}
        },
        "settings": {"executionOrder": "v1"},
    }


def n8n_credentials(n8n: N8nStack) -> list[dict[str, Any]]:
    resp = httpx.get(
        f"{n8n.url.rstrip('/')}/api/v1/credentials",
        headers={"X-N8N-API-KEY": n8n.api_key},
        params={"limit": 250},
    )
    resp.raise_for_status()
    return list(resp.json()["data"])


def set_secret(factory: sessionmaker[Session], project_id: int) -> None:
    with factory.begin() as session:
        project_secrets.set_secret(
            session=session,
            project_id=project_id,
            name="SLACK_TOKEN",
            value=VALUE,
            actor_user_id=USER,
            key=SECRET_KEY,
        )


def assert_bound(
    factory: sessionmaker[Session], client: N8nClient, n8n: N8nStack, workflow_id: int
) -> None:
    """The node in n8n points at this project's credential, which exists in n8n."""
    with factory() as session:
        wf = session.get(Workflow, workflow_id)
        assert wf is not None and wf.status == "active" and wf.n8n_workflow_id
        secret = session.scalar(select(Secret).where(Secret.name == "SLACK_TOKEN"))
        assert secret is not None and secret.n8n_credential_id
        assert secret.credential_type == "slackApi"
        stored = session.scalars(
            select(WorkflowVersion.json_payload).where(WorkflowVersion.workflow_id == wf.id)
        ).all()
        n8n_id, cred_id, project_id = wf.n8n_workflow_id, secret.n8n_credential_id, wf.project_id
    live = client.get_workflow(n8n_id)
    assert live["active"] is True
    node = next(n for n in live["nodes"] if n["name"] == "Post to Slack")
    assert node["credentials"]["slackApi"] == {
        "id": cred_id,
        "name": f"clixen-p{project_id}-SLACK_TOKEN",
    }
    listed = {c["id"]: c for c in n8n_credentials(n8n)}
    assert listed[cred_id]["type"] == "slackApi"
    assert VALUE not in json.dumps(listed[cred_id])
    # What we keep of each version holds the reference, never the value.
    assert stored and all(VALUE not in json.dumps(p) for p in stored)


def assert_never_leaked(llm: ScriptedLLM, caplog: pytest.LogCaptureFixture) -> None:
    assert llm.requests, "the LLM was called"
    for request in llm.requests:
        assert VALUE not in json.dumps(request.body)
        assert VALUE not in json.dumps(request.headers)
    # Names are what the model may know: it was told which secret exists.
    assert "SLACK_TOKEN" in llm.requests[0].text
    # The log assertions below are not vacuous: the deploy logged that it wrote the credential.
    assert any("n8n credential for secret SLACK_TOKEN" in r.getMessage() for r in caplog.records)
    for record in caplog.records:
        assert VALUE not in record.getMessage(), record.name
        assert VALUE not in repr(record.args)
        assert not record.exc_text or VALUE not in record.exc_text
    assert VALUE not in caplog.text


def test_pipeline_binds_the_secret_and_never_shows_its_value(
    services: PipelineServices,
    project_id: int,
    llm: ScriptedLLM,
    n8n: N8nStack,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    set_secret(services.session_factory, project_id)
    llm.script({"workflow": slack_post_workflow(), "summary": "Says good morning in Slack."})
    run, _ = start_run(
        services,
        team_id=TEAM,
        user_id=USER,
        project_id=project_id,
        request="every morning say good morning in #general with our SLACK_TOKEN",
    )
    outcome = execute_run(services, run.id)
    assert outcome.state == "succeeded", outcome.message
    assert outcome.workflow_id is not None
    assert_bound(services.session_factory, services.n8n, n8n, outcome.workflow_id)
    assert VALUE not in json.dumps(outcome.__dict__, default=str)
    assert_never_leaked(llm, caplog)
    # The prompt told the model the exact shape of a secret reference.
    assert '"credentials": {"slackApi": {"name": "SLACK_TOKEN"}}' in llm.requests[0].text


def test_a_workflow_that_uses_secrets_needs_the_secret_key(
    session_factory: sessionmaker[Session], n8n_client: N8nClient, project_id: int
) -> None:
    set_secret(session_factory, project_id)
    with session_factory.begin() as session:
        wf_id = create_workflow_record(
            session=session, project_id=project_id, name="needs a key", created_by=USER
        ).id
    no_key = e2e_settings(CLIXEN_SECRET_KEY="")
    with pytest.raises(SettingsError, match="CLIXEN_SECRET_KEY"):
        deploy_version(
            session_factory=session_factory,
            n8n=n8n_client,
            workflow_id=wf_id,
            json_payload=slack_post_workflow(),
            source="import",
            actor=Actor(TEAM, USER),
            settings=no_key,
        )
    with session_factory() as session:
        wf = session.get(Workflow, wf_id)
        assert wf is not None and wf.n8n_workflow_id is None and wf.head_version == 0
        assert session.scalars(select(WorkflowVersion)).all() == []


def test_rollback_rebinds_the_secret_after_its_value_changed(
    session_factory: sessionmaker[Session],
    n8n_client: N8nClient,
    n8n: N8nStack,
    project_id: int,
) -> None:
    from core.deploy import rollback_to

    set_secret(session_factory, project_id)
    with session_factory.begin() as session:
        wf_id = create_workflow_record(
            session=session, project_id=project_id, name="hello", created_by=USER
        ).id
    settings = e2e_settings()
    try:
        for text in ("first", "second"):
            wf = slack_post_workflow()
            wf["nodes"][1]["parameters"]["text"] = text
            deploy_version(
                session_factory=session_factory,
                n8n=n8n_client,
                workflow_id=wf_id,
                json_payload=wf,
                source="import",
                actor=Actor(TEAM, USER),
                settings=settings,
            )
        with session_factory.begin() as session:
            old_cred = session.scalar(select(Secret.n8n_credential_id))
            project_secrets.set_secret(
                session=session,
                project_id=project_id,
                name="SLACK_TOKEN",
                value="xoxb-rotated-value",
                actor_user_id=USER,
                key=SECRET_KEY,
            )
        v3 = rollback_to(
            session_factory=session_factory,
            n8n=n8n_client,
            workflow_id=wf_id,
            version=1,
            actor=Actor(TEAM, USER),
            settings=settings,
        )
        assert v3.version == 3
        assert_bound(session_factory, n8n_client, n8n, wf_id)
        # The new value went into the same n8n credential (updated in place, none left over).
        with session_factory() as session:
            row = session.scalar(select(Secret))
            assert row is not None and row.n8n_credential_id == old_cred
            assert row.n8n_synced_at is not None and row.n8n_synced_at >= row.updated_at
        assert [c["id"] for c in n8n_credentials(n8n)].count(old_cred) == 1
    finally:
        cleanup_n8n(session_factory, n8n_client)


def test_slack_modal_then_slash_command_never_echo_the_value(
    full_bot: SlackSender,
    slack: FakeSlack,
    llm: ScriptedLLM,
    n8n: N8nStack,
    n8n_client: N8nClient,
    session_factory: sessionmaker[Session],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    # The value is typed into the modal (never into a channel)…
    full_bot.command("secret")
    view = copy.deepcopy(slack.wait_for("views.open")[0].args["view"])
    view["state"] = {
        "values": {
            "name": {"value": {"type": "plain_text_input", "value": "SLACK_TOKEN"}},
            "value": {"value": {"type": "plain_text_input", "value": VALUE}},
            "credential_type": {"value": {"type": "plain_text_input", "value": "slackApi"}},
        }
    }
    assert full_bot.view_submission(view).status_code == 200
    slack.wait_for("chat.postMessage")
    # …then a request uses it by name.
    llm.script({"workflow": slack_post_workflow(), "summary": "Says good morning in Slack."})
    assert full_bot.command("create every morning say good morning with SLACK_TOKEN").status_code
    slack.wait_for_text("chat.update", "is active")
    try:
        with session_factory() as session:
            wf_id = session.scalars(select(Workflow.id)).one()
            project = session.scalar(select(Workflow.project_id))
            owner_team = session.scalar(select(Project.team_id).where(Project.id == project))
        assert owner_team == BOT_TEAM
        assert_bound(session_factory, n8n_client, n8n, wf_id)
        assert VALUE not in slack.all_text()
        assert_never_leaked(llm, caplog)
    finally:
        cleanup_n8n(session_factory, n8n_client)
