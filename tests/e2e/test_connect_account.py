"""Connect an OAuth2 account from a waiting run, end to end on the real n8n, without the internet.

A local OAuth2 provider (tests/doubles/oauth_provider.py) stands for Google; n8n's generic
`oAuth2Api` credential points at it; the "browser" is an httpx client following redirects. The
run waits for the credential, the user opens the connect link, consents, n8n's callback stores
the token, Clixen notices, binds the account and the run deploys; the live workflow calls the
protected API with the token; the token expires and n8n refreshes it; consent is revoked and
the execution watch marks the workflow "needs reconnect"; a reconnect makes it run again.

Needs n8n started with N8N_SKIP_AUTH_ON_OAUTH_CALLBACK=true (scripts/n8n_stack.sh does).
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.testclient import TestClient

from api.connect import connect_routes
from core.connect import create_link, finish_connections, list_accounts, open_link
from core.connect.apps import set_oauth_app
from core.connect.resume import resume_after_connect
from core.generation.templates import default_library
from core.kernel.models import Base, ConnectedAccount, ConnectRequest, Secret, Workflow
from core.kernel.settings import Settings
from core.kernel.vocabulary import RunState, WorkflowStatus
from core.n8n import N8nClient
from core.n8n.session import N8nUserSession
from core.pipeline import PipelineServices, execute_run, start_run
from core.scheduler.watch import watch_executions
from core.workspace.policy import set_project_policy
from tests.builders import delete_deployed, new_project, pipeline_services
from tests.doubles.llm_server import ScriptedLLM
from tests.doubles.oauth_provider import OAuthProvider
from tests.workflows import answer

TEAM, USER = "T1", "U1"
KEY = "k3y-for-connect-tests-7c1d"
PUBLIC_URL = "https://clixen.example.test"


def fetch_from_provider(provider: OAuthProvider, path: str) -> dict[str, Any]:
    """Webhook → GET the provider's protected API with the connected account (generic OAuth2)."""
    return {
        "name": "Who am I",
        "nodes": [
            {
                "id": "n1",
                "name": "Webhook",
                "type": "n8n-nodes-base.webhook",
                "typeVersion": 2,
                "position": [0, 0],
                "webhookId": path,
                "parameters": {"httpMethod": "GET", "path": path, "responseMode": "lastNode"},
            },
            {
                "id": "n2",
                "name": "Ask the API",
                "type": "n8n-nodes-base.httpRequest",
                "typeVersion": 4.2,
                "position": [220, 0],
                "parameters": {
                    "url": f"{provider.base_url}/api/me",
                    "authentication": "genericCredentialType",
                    "genericAuthType": "oAuth2Api",
                    "options": {},
                },
            },
        ],
        "connections": {
            "Webhook": {"main": [[{"node": "Ask the API", "type": "main", "index": 0}]]},
        },
        "settings": {"executionOrder": "v1"},
    }


@pytest.fixture
def services(
    session_factory: sessionmaker[Session], n8n_client: N8nClient, llm: ScriptedLLM
) -> Iterator[PipelineServices]:
    settings = Settings(CLIXEN_SECRET_KEY=KEY, CLIXEN_PUBLIC_URL=PUBLIC_URL)  # type: ignore[call-arg]
    yield pipeline_services(
        session_factory, n8n_client, llm.url, templates=default_library(), settings=settings
    )
    delete_deployed(session_factory, n8n_client)
    with session_factory() as session:
        ids = {c for (c,) in session.query(ConnectRequest.n8n_credential_id) if c}
    for cid in ids:
        n8n_client.delete_credential(cid)


class Browser:
    """The user's browser: Clixen's link (its HTTP route, here in-process) → the provider's
    consent page → n8n's callback page, following redirects."""

    def __init__(
        self, session_factory: sessionmaker[Session], n8n: N8nClient, n8n_user: N8nUserSession
    ) -> None:
        def opener(state: str) -> str:
            return open_link(
                session_factory=session_factory, n8n=n8n, n8n_session=n8n_user, state=state,
                key=KEY,
            )  # fmt: skip

        app = Starlette(routes=connect_routes(opener))
        self.clixen = TestClient(app, base_url=PUBLIC_URL, follow_redirects=False)

    def open(self, link: str) -> httpx.Response:
        """Clixen's answer to the link: a 302 to the consent page, or a page saying why not."""
        assert link.startswith(f"{PUBLIC_URL}/oauth/start?state=")
        return self.clixen.get(link)


def call(n8n_client: N8nClient, path: str) -> httpx.Response:
    return n8n_client.call_webhook(path, method="GET")


def test_connect_from_a_waiting_run_then_refresh_then_revoke_then_reconnect(
    services: PipelineServices,
    session_factory: sessionmaker[Session],
    n8n_client: N8nClient,
    n8n_user: N8nUserSession,
    llm: ScriptedLLM,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    path = f"whoami-{uuid.uuid4().hex[:8]}"
    with OAuthProvider() as provider:
        project_id = new_project(session_factory, team_id=TEAM, user_id=USER)
        with session_factory.begin() as s:
            set_project_policy(
                session=s, project_id=project_id, actor_user_id=USER, allow_hosts=["127.0.0.1"]
            )
            set_oauth_app(
                session=s,
                provider="oauth2",
                client_id=provider.client_id,
                client_secret=provider.client_secret,
                key=KEY,
                actor="operator",
                auth_url=f"{provider.base_url}/authorize",
                token_url=f"{provider.base_url}/token",
                scope="openid email",
                allowed_hosts=["127.0.0.1"],
            )
        # 1. The run waits for the OAuth2 credential: nothing goes live.
        llm.script(answer(fetch_from_provider(provider, path), "Asks the API who I am."))
        created, _ = start_run(
            services, team_id=TEAM, user_id=USER, project_id=project_id,
            request="when called, ask the API who I am",
        )  # fmt: skip
        waiting = execute_run(services, created.id)
        assert waiting.state == RunState.awaiting_credentials, waiting.message
        assert waiting.credentials_needed == (("Ask the API", ("oAuth2Api",)),)

        # 2. The user's connect link: single use, bound to run and type; only its hash stored.
        with session_factory.begin() as s:
            link = create_link(
                session=s, team_id=TEAM, user_id=USER, project_id=project_id,
                service="oauth2", public_url=PUBLIC_URL, run_id=created.id,
            )  # fmt: skip
        browser = Browser(session_factory, n8n_client, n8n_user)
        opened = browser.open(link.url)
        assert opened.status_code == 302, opened.text
        consent_url = opened.headers["location"]
        assert consent_url.startswith(f"{provider.base_url}/authorize?")
        replayed = browser.open(link.url)
        assert replayed.status_code == 400 and "already used" in replayed.text

        # 3. Consent: the provider sends the browser to n8n's callback, which stores the token.
        provider.consent(consent_url)
        assert provider.redirect_uris == [f"{n8n_client.base_url}/rest/oauth2-credential/callback"]
        assert ("token", "authorization_code") in provider.events

        # 4. Clixen notices, binds the account, the waiting run resumes and deploys.
        [connected] = finish_connections(
            session_factory=session_factory, n8n=n8n_client, n8n_session=n8n_user, key=KEY
        )
        assert connected.account.account == provider.email  # "connected as"
        assert connected.run_id == created.id
        [done] = resume_after_connect(services, connected)
        assert done.ok, done.message
        assert len(llm.requests) == 1  # resumed where it stopped
        with session_factory() as s:
            secret = s.query(Secret).filter_by(project_id=project_id, name="OAUTH2").one()
        deployed = n8n_client.get_workflow(done.n8n_workflow_id or "")
        [node] = [n for n in deployed["nodes"] if n["name"] == "Ask the API"]
        assert node["credentials"]["oAuth2Api"]["id"] == secret.n8n_credential_id

        # 5. The live workflow calls the protected API with the token.
        first = call(n8n_client, path)
        assert first.status_code == 200 and first.json()["email"] == provider.email, first.text
        wid = done.n8n_workflow_id or ""
        assert n8n_client.wait_for_execution(wid) is not None
        watch = dict(session_factory=session_factory, client=n8n_client, notifier=None,
                     repair=None)  # fmt: skip
        watch_executions(**watch, now=dt.datetime.now(dt.UTC))  # type: ignore[arg-type]
        with session_factory() as s:
            [account] = list_accounts(session=s, project_id=project_id, viewer=USER)
        assert account.last_used_at is not None and not account.needs_reconnect

        # 6. The access token expires: n8n refreshes it and the call still works.
        provider.expire_access_tokens()
        again = call(n8n_client, path)
        assert again.status_code == 200, again.text
        assert ("token", "refresh") in provider.events
        seen = n8n_client.wait_for_execution(wid)
        assert seen is not None and seen["status"] == "success"

        # 7. Consent revoked: the refresh fails, the watch marks "needs reconnect".
        provider.revoke()
        refused = call(n8n_client, path)
        assert refused.status_code >= 400
        assert ("token", "refresh refused") in provider.events
        failed = n8n_client.wait_for_execution(wid, after_id=str(seen["id"]))
        assert failed is not None and failed["status"] == "error"
        summary = watch_executions(**watch, now=dt.datetime.now(dt.UTC))  # type: ignore[arg-type]
        assert summary.get("needs_reconnect") == [done.workflow_id], summary
        with session_factory() as s:
            assert s.get(Workflow, done.workflow_id).status == WorkflowStatus.needs_reconnect  # type: ignore[union-attr]
            [account] = list_accounts(session=s, project_id=project_id, viewer=USER)
        assert account.needs_reconnect

        # 8. Reconnect: same n8n credential (workflows keep their binding), runs again.
        with session_factory.begin() as s:
            relink = create_link(
                session=s, team_id=TEAM, user_id=USER, project_id=project_id,
                service="oauth2", public_url=PUBLIC_URL,
            )  # fmt: skip
        provider.consent(browser.open(relink.url).headers["location"])
        [reconnected] = finish_connections(
            session_factory=session_factory, n8n=n8n_client, n8n_session=n8n_user, key=KEY
        )
        assert reconnected.run_id is None and reconnected.account.account == provider.email
        with session_factory() as s:
            row = s.query(ConnectedAccount).filter_by(project_id=project_id).one()
            assert row.n8n_credential_id == secret.n8n_credential_id
            assert row.needs_reconnect_at is None
            assert s.get(Workflow, done.workflow_id).status == WorkflowStatus.active  # type: ignore[union-attr]
        back = call(n8n_client, path)
        assert back.status_code == 200 and back.json()["email"] == provider.email, back.text

    # No token anywhere on Clixen's side: not in any table, not in the logs.
    assert len(provider.tokens()) >= 4  # two grants, each with a refresh and access tokens
    with session_factory() as s:
        stored = "\n".join(
            repr(row) for table in Base.metadata.sorted_tables
            for row in s.execute(table.select()).all()
        )  # fmt: skip
    assert not [t for t in provider.tokens() if t in stored]
    assert not [t for t in provider.tokens() if t in caplog.text]
