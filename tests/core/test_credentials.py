"""Credentials that just work: what each node needs, a run that waits for a missing one, resumes
when the secret arrives, binds and tests it before going live. Real Postgres and n8n; the
scripted LLM at the network edge."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from core.catalog import default_catalog
from core.catalog.credential_needs import accepted_types
from core.credentials import secrets as project_secrets
from core.credentials.needs import credential_fields, credential_issues
from core.generation.templates import default_library
from core.kernel.models import Secret
from core.kernel.settings import Settings
from core.kernel.vocabulary import IN_PROGRESS, RunState
from core.n8n import N8nClient
from core.pipeline import PipelineServices, execute_run, start_run
from core.pipeline.resume import provide_credentials
from tests.builders import delete_deployed, new_project, pipeline_services
from tests.doubles.llm_server import ScriptedLLM
from tests.workflows import answer

TEAM, USER = "T1", "U1"
KEY = "k3y-for-credential-tests-5a6b"


def rss_to_slack(credentials: dict[str, Any] | None = None) -> dict[str, Any]:
    """Every hour → read an RSS feed → post each item to #news (Slack, access token)."""
    slack: dict[str, Any] = {
        "id": "n3",
        "name": "Post to Slack",
        "type": "n8n-nodes-base.slack",
        "typeVersion": 2.3,
        "position": [440, 0],
        "parameters": {
            "select": "channel",
            "channelId": {"__rl": True, "mode": "name", "value": "#news"},
            "text": "={{ $json.title }} {{ $json.link }}",
            "otherOptions": {},
        },
    }
    if credentials is not None:
        slack["credentials"] = credentials
    return {
        "name": "RSS to #news",
        "nodes": [
            {
                "id": "n1",
                "name": "Every hour",
                "type": "n8n-nodes-base.scheduleTrigger",
                "typeVersion": 1.2,
                "position": [0, 0],
                "parameters": {"rule": {"interval": [{"field": "hours", "hoursInterval": 1}]}},
            },
            {
                "id": "n2",
                "name": "Read feed",
                "type": "n8n-nodes-base.rssFeedRead",
                "typeVersion": 1.2,
                "position": [220, 0],
                "parameters": {"url": "https://example.com/feed.xml", "options": {}},
            },
            slack,
        ],
        "connections": {
            "Every hour": {"main": [[{"node": "Read feed", "type": "main", "index": 0}]]},
            "Read feed": {"main": [[{"node": "Post to Slack", "type": "main", "index": 0}]]},
        },
        "settings": {"executionOrder": "v1"},
    }


@pytest.fixture
def services(
    session_factory: sessionmaker[Session], n8n_client: N8nClient, llm: ScriptedLLM
) -> Iterator[PipelineServices]:
    settings = Settings(CLIXEN_SECRET_KEY=KEY)  # type: ignore[call-arg]
    yield pipeline_services(
        session_factory, n8n_client, llm.url, templates=default_library(), settings=settings
    )
    delete_deployed(session_factory, n8n_client)
    with session_factory() as session:
        ids = [c for c in session.query(Secret.n8n_credential_id) if c[0]]
    for (cid,) in ids:
        n8n_client.delete_credential(cid)


@pytest.fixture
def project_id(session_factory: sessionmaker[Session]) -> int:
    return new_project(session_factory, team_id=TEAM, user_id=USER)


def set_secret(
    session_factory: sessionmaker[Session], project_id: int, name: str, ctype: str, value: str
) -> None:
    with session_factory.begin() as s:
        project_secrets.set_secret(
            session=s,
            project_id=project_id,
            name=name,
            value=value,
            key=KEY,
            actor_user_id=USER,
            credential_type=ctype,
        )


# --- what each node needs --------------------------------------------------------------------


def test_accepted_types_follow_the_node_parameters() -> None:
    catalog = default_catalog()

    def types(node_type: str, version: float, **params: Any) -> tuple[str, ...]:
        node = {"type": node_type, "typeVersion": version, "parameters": params}
        return accepted_types(node, catalog)

    assert types("n8n-nodes-base.slack", 2.3) == ("slackApi",)  # default: access token
    assert types("n8n-nodes-base.slack", 2.3, authentication="oAuth2") == ("slackOAuth2Api",)
    assert types("n8n-nodes-base.httpRequest", 4.2) == ()
    assert types(
        "n8n-nodes-base.httpRequest",
        4.2,
        authentication="predefinedCredentialType",
        nodeCredentialType="notionApi",
    ) == ("notionApi",)
    assert types(
        "n8n-nodes-base.httpRequest",
        4.2,
        authentication="genericCredentialType",
        genericAuthType="httpHeaderAuth",
    ) == ("httpHeaderAuth",)
    assert types("n8n-nodes-base.rssFeedRead", 1.2) == ()
    assert types("n8n-nodes-base.notion", 2.2) == ("notionApi",)


def test_credential_fields_come_from_n8n(n8n_client: N8nClient) -> None:
    fields = credential_fields(n8n_client, "slackApi")
    token = next(f for f in fields if f.name == "accessToken")
    assert token.required and token.secret and token.label == "Access token"
    assert "allowedDomains" not in {f.name for f in fields}


def test_missing_and_wrong_type_references_are_findings() -> None:
    catalog = default_catalog()
    [missing] = credential_issues(rss_to_slack(), catalog, {})
    assert missing.code == "missing_credentials" and missing.node == "Post to Slack"
    assert "slackApi" in missing.message
    wrong = credential_issues(
        rss_to_slack({"slackApi": {"name": "NOTION"}}), catalog, {"NOTION": "notionApi"}
    )
    assert [i.code for i in wrong] == ["wrong_credential_type"]
    assert "NOTION is a notionApi credential" in wrong[0].message
    assert (
        credential_issues(
            rss_to_slack({"slackApi": {"name": "SLACK"}}), catalog, {"SLACK": "slackApi"}
        )
        == []
    )


# --- the run waits, resumes, binds, deploys ---------------------------------------------------


def test_rss_to_slack_waits_for_the_credential_then_deploys_with_it_bound(
    services: PipelineServices,
    project_id: int,
    llm: ScriptedLLM,
    n8n_client: N8nClient,
    session_factory: sessionmaker[Session],
) -> None:
    llm.script(answer(rss_to_slack()))
    created, _ = start_run(
        services, team_id=TEAM, user_id=USER, project_id=project_id,
        request="post new items of https://example.com/feed.xml to #news",
    )  # fmt: skip
    waiting = execute_run(services, created.id)
    assert waiting.state == RunState.awaiting_credentials
    assert RunState.awaiting_credentials not in IN_PROGRESS and not waiting.state.finished
    assert waiting.credentials_needed == (("Post to Slack", ("slackApi",)),)
    assert "Post to Slack needs a slackApi credential" in waiting.message
    assert waiting.n8n_workflow_id is None  # nothing went live

    set_secret(session_factory, project_id, "SLACK_BOT", "slackApi", "xoxb-123-abc")
    done = provide_credentials(services, created.id, team_id=TEAM, user_id=USER)
    assert done.ok, done.message
    assert len(llm.requests) == 1  # resumed where it stopped: no new generation
    deployed = n8n_client.get_workflow(done.n8n_workflow_id or "")
    [slack] = [n for n in deployed["nodes"] if n["name"] == "Post to Slack"]
    with session_factory() as s:
        row = s.query(Secret).filter_by(project_id=project_id, name="SLACK_BOT").one()
    assert slack["credentials"]["slackApi"]["id"] == row.n8n_credential_id


def test_a_wrong_type_reference_is_refused_and_repaired(
    services: PipelineServices,
    project_id: int,
    llm: ScriptedLLM,
    session_factory: sessionmaker[Session],
) -> None:
    set_secret(session_factory, project_id, "NOTION", "notionApi", "secret_abc")
    set_secret(session_factory, project_id, "SLACK_BOT", "slackApi", "xoxb-1")
    llm.script(
        answer(rss_to_slack({"slackApi": {"name": "NOTION"}})),
        answer(rss_to_slack({"slackApi": {"name": "SLACK_BOT"}})),
    )
    created, _ = start_run(
        services, team_id=TEAM, user_id=USER, project_id=project_id, request="rss to #news"
    )
    outcome = execute_run(services, created.id)
    assert outcome.ok, outcome.message
    assert len(llm.requests) == 2
    assert "NOTION is a notionApi credential" in llm.requests[1].text


def test_a_rejected_credential_keeps_the_run_waiting_and_says_why(
    services: PipelineServices,
    project_id: int,
    llm: ScriptedLLM,
    session_factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    llm.script(answer(rss_to_slack()))
    created, _ = start_run(
        services, team_id=TEAM, user_id=USER, project_id=project_id, request="rss to #news"
    )
    assert execute_run(services, created.id).state == RunState.awaiting_credentials
    set_secret(session_factory, project_id, "SLACK_BOT", "slackApi", "xoxb-revoked")
    # The service's answer to n8n's test call (this machine cannot reach slack.com).
    monkeypatch.setattr(
        services.n8n,
        "test_credential",
        lambda _id: {"status": "Error", "message": "invalid_auth"},
    )
    outcome = provide_credentials(services, created.id)
    assert outcome.state == RunState.awaiting_credentials
    assert "Secret SLACK_BOT was rejected by the service: invalid_auth" in outcome.message
    # The chat shows it as a warning above the asks (RunOutcome says it, not a word in a text).
    assert outcome.credentials_rejected is not None
    assert "invalid_auth" in outcome.credentials_rejected
    assert outcome.n8n_workflow_id is None
