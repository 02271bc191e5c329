"""Connected accounts stay in their service and with their user (issue 26, items 1 and 3), end to
end on the real n8n with the local OAuth2 provider (as in test_connect_account):

- the credential written for a connected account carries its domain restriction, so the real n8n
  refuses to send the token to a foreign host (a local collector receives nothing), and Clixen's
  gate refuses such a workflow before n8n sees it;
- two users connecting the same service in one project at once each end with their own account
  bound to their own run, and no credential a link created is left orphaned in n8n;
- a user who is no longer an editor when their consent completes gets nothing bound.
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from core.connect import create_link, finish_connections
from core.connect.apps import set_oauth_app
from core.connect.resume import resume_after_connect
from core.deploy import ValidationFailed, gate
from core.kernel.models import ConnectedAccount, ConnectRequest, Secret
from core.kernel.vocabulary import Role, RunState
from core.n8n import N8nClient, N8nNotFound
from core.n8n.session import N8nUserSession
from core.pipeline import PipelineServices, execute_run, start_run
from core.workspace.policy import set_project_policy
from core.workspace.projects import add_member
from tests.builders import new_project
from tests.core.test_credential_domains import _error
from tests.doubles.http_sink import HttpSink
from tests.doubles.llm_server import ScriptedLLM
from tests.doubles.oauth_provider import OAuthProvider
from tests.e2e.test_connect_account import (
    KEY,
    PUBLIC_URL,
    Browser,
    fetch_from_provider,
    services,  # noqa: F401 (the fixture)
)
from tests.workflows import answer

TEAM, ADA, BOB = "T1", "U1", "U2"


def _project_with_app(session_factory: sessionmaker[Session], provider: OAuthProvider) -> int:
    project_id = new_project(session_factory, team_id=TEAM, user_id=ADA)
    with session_factory.begin() as s:
        add_member(session=s, project_id=project_id, actor_user_id=ADA, user_id=BOB,
                   role=Role.editor)  # fmt: skip
        set_project_policy(
            session=s, project_id=project_id, actor_user_id=ADA,
            allow_hosts=["127.0.0.1", "localhost"],
        )  # fmt: skip
        set_oauth_app(
            session=s, provider="oauth2", client_id=provider.client_id,
            client_secret=provider.client_secret, key=KEY, actor="operator",
            auth_url=f"{provider.base_url}/authorize", token_url=f"{provider.base_url}/token",
            scope="openid email", allowed_hosts=["127.0.0.1"],
        )  # fmt: skip
    return project_id


def _link(
    session_factory: sessionmaker[Session], project_id: int, user: str, run_id: int | None = None
) -> str:
    with session_factory.begin() as s:
        return create_link(
            session=s, team_id=TEAM, user_id=user, project_id=project_id, service="oauth2",
            public_url=PUBLIC_URL, run_id=run_id,
        ).url  # fmt: skip


def test_n8n_refuses_to_send_a_connected_token_to_a_foreign_host(
    services: PipelineServices,  # noqa: F811
    session_factory: sessionmaker[Session],
    n8n_client: N8nClient,
    n8n_user: N8nUserSession,
) -> None:
    path = f"steal-{uuid.uuid4().hex[:8]}"
    with OAuthProvider() as provider, HttpSink() as collector:
        project_id = _project_with_app(session_factory, provider)
        browser = Browser(session_factory, n8n_client, n8n_user)
        provider.consent(browser.open(_link(session_factory, project_id, ADA)).headers["location"])
        [connected] = finish_connections(
            session_factory=session_factory, n8n=n8n_client, n8n_session=n8n_user, key=KEY
        )
        with session_factory() as s:
            credential_id = s.query(Secret).filter_by(name=connected.account.secret_name).one()
            credential_id = str(credential_id.n8n_credential_id)
        # The same host under another name: not one the account may be sent to.
        foreign = fetch_from_provider(provider, path)
        http = foreign["nodes"][1]
        http["parameters"]["url"] = collector.url("/steal").replace("127.0.0.1", "localhost")
        http["credentials"] = {"oAuth2Api": {"name": connected.account.secret_name}}

        # Clixen's gate refuses it before n8n sees it.
        with session_factory() as s, pytest.raises(ValidationFailed) as refused:
            gate.check(session=s, project_id=project_id, payload=gate.parse(foreign)[1],
                       say=lambda _: None)  # fmt: skip
        assert [i.code for i in refused.value.report.errors] == ["credential_host"]

        # n8n itself refuses it too: the workflow put straight into n8n, bound to the account.
        direct = copy.deepcopy(foreign)
        direct["nodes"][1]["credentials"] = {"oAuth2Api": {"id": credential_id, "name": "x"}}
        workflow_id = n8n_client.create_workflow(direct)["id"]
        try:
            n8n_client.activate(workflow_id)
            n8n_client.call_webhook(path, method="GET")
            execution = n8n_client.wait_for_execution(workflow_id, timeout_s=60)
        finally:
            n8n_client.delete_workflow(workflow_id)
        assert execution is not None and execution["status"] == "error"
        assert "Domain not allowed" in _error(execution), _error(execution)
        assert collector.requests == []  # the token never left


def _waiting_run(pipeline: PipelineServices, llm: ScriptedLLM, project_id: int, user: str,
                 provider: OAuthProvider, path: str) -> int:  # fmt: skip
    llm.script(answer(fetch_from_provider(provider, path), "Asks the API who I am."))
    created, _ = start_run(
        pipeline, team_id=TEAM, user_id=user, project_id=project_id,
        request="when called, ask the API who I am",
    )  # fmt: skip
    waiting = execute_run(pipeline, created.id)
    assert waiting.state == RunState.awaiting_credentials, waiting.message
    return created.id


def test_two_users_connecting_at_once_each_get_their_own_account(
    services: PipelineServices,  # noqa: F811
    session_factory: sessionmaker[Session],
    n8n_client: N8nClient,
    n8n_user: N8nUserSession,
    llm: ScriptedLLM,
) -> None:
    paths = {ADA: f"ada-{uuid.uuid4().hex[:8]}", BOB: f"bob-{uuid.uuid4().hex[:8]}"}
    emails = {ADA: "ada@example.com", BOB: "bob@example.com"}
    with OAuthProvider() as provider:
        project_id = _project_with_app(session_factory, provider)
        runs = {
            u: _waiting_run(services, llm, project_id, u, provider, paths[u]) for u in (ADA, BOB)
        }
        browser = Browser(session_factory, n8n_client, n8n_user)
        # Both links are opened before either user consents.
        consent_urls = {
            u: browser.open(_link(session_factory, project_id, u, runs[u])).headers["location"]
            for u in (ADA, BOB)
        }
        for user in (ADA, BOB):
            provider.email = emails[user]
            provider.consent(consent_urls[user])
        connected = finish_connections(
            session_factory=session_factory, n8n=n8n_client, n8n_session=n8n_user, key=KEY
        )
        assert sorted((c.user_id, c.run_id, c.account.account) for c in connected) == sorted(
            (u, runs[u], emails[u]) for u in (ADA, BOB)
        )
        outcomes: dict[str, Any] = {}
        for c in connected:
            [outcomes[c.user_id]] = resume_after_connect(services, c)
            assert outcomes[c.user_id].ok, outcomes[c.user_id].message
        # Each live workflow calls the API with its own user's account.
        for user in (ADA, BOB):
            answer_ = n8n_client.call_webhook(paths[user], method="GET")
            assert answer_.status_code == 200, answer_.text
            assert answer_.json()["email"] == emails[user]
    with session_factory() as s:
        accounts = {a.connected_by: a for a in s.query(ConnectedAccount)}
        assert {u: a.account for u, a in accounts.items()} == emails
        assert len({a.n8n_credential_id for a in accounts.values()}) == 2
        created = {c for (c,) in s.query(ConnectRequest.n8n_credential_id) if c}
    # Every credential a link created is an account's, or gone from n8n: nothing orphaned.
    bound = {a.n8n_credential_id for a in accounts.values()}
    for credential_id in created - bound:
        with pytest.raises(N8nNotFound):
            n8n_user.oauth2_connection(credential_id)
    assert created == bound


def test_a_user_no_longer_an_editor_gets_nothing_bound(
    services: PipelineServices,  # noqa: F811
    session_factory: sessionmaker[Session],
    n8n_client: N8nClient,
    n8n_user: N8nUserSession,
) -> None:
    with OAuthProvider() as provider:
        project_id = _project_with_app(session_factory, provider)
        browser = Browser(session_factory, n8n_client, n8n_user)
        consent_url = browser.open(_link(session_factory, project_id, BOB)).headers["location"]
        with session_factory.begin() as s:  # Bob is made a viewer before he consents
            add_member(session=s, project_id=project_id, actor_user_id=ADA, user_id=BOB,
                       role=Role.viewer)  # fmt: skip
        provider.consent(consent_url)
        assert (
            finish_connections(
                session_factory=session_factory, n8n=n8n_client, n8n_session=n8n_user, key=KEY
            )
            == []
        )
    with session_factory() as s:
        [request] = s.query(ConnectRequest).all()
        assert request.outcome == "refused"
        assert s.query(ConnectedAccount).count() == 0 and s.query(Secret).count() == 0
    with pytest.raises(N8nNotFound):  # its credential (with Bob's token) is deleted
        n8n_user.oauth2_connection(str(request.n8n_credential_id))


def test_an_account_connected_without_a_restriction_gets_it_on_resync(
    services: PipelineServices,  # noqa: F811
    session_factory: sessionmaker[Session],
    n8n_client: N8nClient,
    n8n_user: N8nUserSession,
) -> None:
    from sqlalchemy import update

    from core.connect.accounts import resync_accounts

    path = f"resync-{uuid.uuid4().hex[:8]}"
    with OAuthProvider() as provider, HttpSink() as collector:
        project_id = _project_with_app(session_factory, provider)
        browser = Browser(session_factory, n8n_client, n8n_user)
        provider.consent(browser.open(_link(session_factory, project_id, ADA)).headers["location"])
        [connected] = finish_connections(
            session_factory=session_factory, n8n=n8n_client, n8n_session=n8n_user, key=KEY
        )
        with session_factory() as s:
            secret = s.query(Secret).filter_by(name=connected.account.secret_name).one()
        credential_id = str(secret.n8n_credential_id)
        # As an older Clixen left it: no restriction (token kept); the upgrade marks it stale.
        n8n_client.update_credential(
            credential_id, name="old", type="oAuth2Api", partial=True,
            data={"allowedHttpRequestDomains": "all"},
        )  # fmt: skip
        with session_factory.begin() as s:
            s.execute(update(Secret).where(Secret.id == secret.id).values(n8n_synced_at=None))
        assert resync_accounts(session_factory=session_factory, n8n=n8n_client) == (1, [])
        assert n8n_user.oauth2_connection(credential_id).connected  # the token is still there

        wf = fetch_from_provider(provider, path)
        wf["nodes"][1]["parameters"]["url"] = collector.url("/x").replace("127.0.0.1", "localhost")
        wf["nodes"][1]["credentials"] = {"oAuth2Api": {"id": credential_id, "name": "x"}}
        workflow_id = n8n_client.create_workflow(wf)["id"]
        try:
            n8n_client.activate(workflow_id)
            n8n_client.call_webhook(path, method="GET")
            execution = n8n_client.wait_for_execution(workflow_id, timeout_s=60)
        finally:
            n8n_client.delete_workflow(workflow_id)
        assert execution is not None and "Domain not allowed" in _error(execution)
        assert collector.requests == []
