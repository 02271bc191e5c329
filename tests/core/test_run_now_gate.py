"""Test runs go through the deploy gate: the copy n8n gets is the validated, filtered and bound
workflow of the project, under its policy of today; real Postgres and n8n."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.credentials import secrets
from core.credentials import sync as credential_sync
from core.kernel.models import RunNowCopyRecord, Secret
from core.kernel.settings import Settings, get_settings
from core.n8n import N8nClient
from core.run_now import run_now
from core.run_now.runs import gated_copy
from core.workspace.policy import set_project_policy
from tests.builders import new_project
from tests.core.test_run_now import _chain, _node
from tests.doubles.http_sink import HttpSink

TEAM, OWNER = "T-gate", "U-owner"
KEY = "k3y-for-gate-tests-5e6f7a"


@pytest.fixture
def settings() -> Settings:
    return Settings(CLIXEN_SECRET_KEY=KEY)


@pytest.fixture
def client(n8n_client: N8nClient, session_factory: sessionmaker[Session]) -> Iterator[N8nClient]:
    """The n8n client; every credential a test's secrets got in n8n is deleted after it."""
    yield n8n_client
    with session_factory() as s:
        ids = [str(c) for c in s.scalars(select(Secret.n8n_credential_id)) if c]
    for credential_id in ids:
        n8n_client.delete_credential(credential_id)


def project(factory: sessionmaker[Session], name: str, *hosts: str) -> int:
    pid = new_project(factory, team_id=TEAM, user_id=OWNER, name=name)
    if hosts:
        with factory.begin() as s:
            set_project_policy(session=s, project_id=pid, actor_user_id=OWNER, allow_hosts=hosts)
    return pid


def nothing_recorded(factory: sessionmaker[Session]) -> bool:
    """No test copy was left (nor recorded: a refused run never asks n8n for one)."""
    with factory() as s:
        return s.scalars(select(RunNowCopyRecord)).first() is None


def header_call(url: str, credential: dict[str, Any]) -> dict[str, Any]:
    """Every hour → an HTTP Request to `url` authenticated by a Header Auth credential."""
    fetch = _node(
        "Call",
        "httpRequest",
        4.2,
        {
            "url": url,
            "authentication": "genericCredentialType",
            "genericAuthType": "httpHeaderAuth",
            "options": {},
        },
        200,
    )
    fetch["credentials"] = {"httpHeaderAuth": credential}
    return _chain(
        "Header call",
        _node("Every hour", "scheduleTrigger", 1.2, {"rule": {"interval": [{}]}}, 0),
        fetch,
    )


def test_a_credential_named_but_not_the_projects_is_never_sent_by_a_test_run(
    session_factory: sessionmaker[Session], client: N8nClient, settings: Settings
) -> None:
    theirs = project(session_factory, "theirs")
    mine = project(session_factory, "mine", "127.0.0.1")
    with session_factory.begin() as s:
        secrets.set_secret(
            session=s,
            project_id=theirs,
            name="API_TOKEN",
            value=json.dumps({"name": "X-Token", "value": "their-secret-value"}),
            key=KEY,
            actor_user_id=OWNER,
            credential_type="httpHeaderAuth",
            allowed_hosts=["127.0.0.1"],  # the local sink
        )
    with HttpSink() as sink:
        # Their project deploys with it, so its n8n credential exists under a known name.
        with session_factory.begin() as s:
            bound = credential_sync.sync_project_credentials(
                session_factory=session_factory,
                project_id=theirs,
                n8n=client,
                key=KEY,
                workflow_json=header_call(sink.url("/x"), {"name": "API_TOKEN"}),
            )
        n8n_name = bound["nodes"][1]["credentials"]["httpHeaderAuth"]["name"]
        # Mine names it (no id): n8n alone would resolve it to theirs by name.
        report = run_now(
            session_factory=session_factory,
            n8n=client,
            project_id=mine,
            workflow=header_call(sink.url("/steal"), {"name": n8n_name}),
            settings=settings,
        )
        assert sink.requests == []
    assert report.status == "refused"
    assert "Call" in report.message and "httpHeaderAuth" in report.message
    assert nothing_recorded(session_factory)


def test_a_test_run_refuses_what_the_policy_refuses_and_calls_nothing(
    session_factory: sessionmaker[Session], client: N8nClient
) -> None:
    pid = project(session_factory, "strict")  # the loopback is not allowed here
    with HttpSink() as sink:
        report = run_now(
            session_factory=session_factory,
            n8n=client,
            project_id=pid,
            workflow=_chain(
                "Peek",
                _node("Every hour", "scheduleTrigger", 1.2, {"rule": {"interval": [{}]}}, 0),
                _node("Fetch", "httpRequest", 4.2, {"url": sink.url("/peek")}, 200),
            ),
            settings=get_settings(),
        )
        assert sink.requests == []
    assert report.status == "refused"
    assert "was not run" in report.message and "127.0.0.1" in report.message
    assert "Fetch" in report.message and nothing_recorded(session_factory)


def test_the_copy_gets_the_settings_a_deploy_would_keep(
    session_factory: sessionmaker[Session], client: N8nClient
) -> None:
    pid = project(session_factory, "settings")
    wf = _chain(
        "Open",
        _node("Every hour", "scheduleTrigger", 1.2, {"rule": {"interval": [{}]}}, 0),
        _node("Keep", "set", 3.4, {"options": {}}, 200),
    )
    wf["settings"] = {
        "executionOrder": "v1",
        "callerPolicy": "any",
        "availableInMCP": True,
        "errorWorkflow": "someone-elses",
    }
    wf["pinData"] = {"Keep": [{"json": {"pinned": True}}]}
    built = gated_copy(
        session_factory=session_factory,
        n8n=client,
        project_id=pid,
        workflow=wf,
        settings=get_settings(),
    )
    assert built.workflow["settings"] == {
        "executionOrder": "v1",
        "callerPolicy": "workflowsFromSameOwner",
    }
    assert "pinData" not in built.workflow


@pytest.mark.parametrize(
    "credentials",
    [
        {"slackApi": {"name": "Slack account"}},
        {"slackApi": {"id": "", "name": "Slack account"}},
        {"slackApi": "Slack account"},
        {"slackApi": None},
    ],
)
def test_a_credential_reference_without_an_id_is_refused(credentials: dict[str, Any]) -> None:
    from core.deploy.gate import require_credential_ids
    from core.kernel.errors import PermissionDenied

    wf = _chain("Post", _node("Post", "slack", 2.3, {}, 0))
    wf["nodes"][0]["credentials"] = credentials
    with pytest.raises(PermissionDenied, match="without an id"):
        require_credential_ids(wf)
    wf["nodes"][0]["credentials"] = {"slackApi": {"id": "7", "name": "clixen-p1-SLACK"}}
    require_credential_ids(wf)
