"""`GET /oauth/start`: a Connect link redirects once to the provider's consent page (n8n's flow,
started server-side); a replayed, unknown, expired or no-longer-allowed link gets a clear page.
Real Postgres and n8n; the OAuth2 provider is the local double."""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.testclient import TestClient

from api.connect import connect_routes
from core.connect import LinkRefused, create_link, finish_connections, open_link
from core.connect.apps import set_oauth_app
from core.kernel.errors import InvalidInput, NotFound, PermissionDenied
from core.kernel.models import ConnectRequest, OAuthApp, Secret
from core.kernel.vocabulary import Role
from core.n8n import N8nClient, N8nNotFound
from core.n8n.session import N8nUserSession
from core.workspace.projects import add_member
from tests.builders import new_project
from tests.conftest import N8nStack
from tests.doubles.oauth_provider import OAuthProvider

TEAM, OWNER, EDITOR = "T1", "U1", "U2"
KEY = "k3y-for-connect-route-tests-1b2c"
PUBLIC = "https://clixen.example.test"


@dataclass
class World:
    http: TestClient
    project_id: int
    provider: OAuthProvider
    session_factory: sessionmaker[Session]

    def link(self, user: str = OWNER, now: dt.datetime | None = None) -> str:
        with self.session_factory.begin() as s:
            made = create_link(
                session=s, team_id=TEAM, user_id=user, project_id=self.project_id,
                service="oauth2", public_url=PUBLIC, now=now,
            )  # fmt: skip
        assert made.url.startswith(f"{PUBLIC}/oauth/start?state=")
        return made.url.removeprefix(PUBLIC)


@pytest.fixture
def world(
    session_factory: sessionmaker[Session], n8n_client: N8nClient, n8n_user: N8nUserSession
) -> Iterator[World]:
    pid = new_project(session_factory, team_id=TEAM, user_id=OWNER)
    with OAuthProvider() as provider:
        with session_factory.begin() as s:
            add_member(
                session=s, project_id=pid, actor_user_id=OWNER, user_id=EDITOR, role=Role.editor
            )
            set_oauth_app(
                session=s, provider="oauth2", client_id=provider.client_id,
                client_secret=provider.client_secret, key=KEY, actor="operator",
                auth_url=f"{provider.base_url}/authorize", token_url=f"{provider.base_url}/token",
                allowed_hosts=["127.0.0.1"],
            )  # fmt: skip

        def opener(state: str) -> str:
            return open_link(
                session_factory=session_factory, n8n=n8n_client, n8n_session=n8n_user,
                state=state, key=KEY,
            )  # fmt: skip

        app = Starlette(routes=connect_routes(opener))
        yield World(TestClient(app, follow_redirects=False), pid, provider, session_factory)
    with session_factory() as s:
        ids = [c for (c,) in s.query(ConnectRequest.n8n_credential_id) if c]
    for cid in ids:
        n8n_client.delete_credential(cid)


def test_a_link_redirects_once_to_the_consent_page_then_says_it_was_used(world: World) -> None:
    path = world.link()
    first = world.http.get(path)
    assert first.status_code == 302
    consent = first.headers["location"]
    assert consent.startswith(f"{world.provider.base_url}/authorize?")
    assert "oauth2-credential%2Fcallback" in consent  # the provider sends the browser to n8n
    assert first.headers["referrer-policy"] == "no-referrer"
    assert first.headers["cache-control"] == "no-store"
    again = world.http.get(path)
    assert again.status_code == 400
    assert "already used" in again.text and "/clixen connect" in again.text


def test_unknown_expired_and_incomplete_links_get_a_page_saying_why(world: World) -> None:
    unknown = world.http.get("/oauth/start?state=forged-or-from-another-server")
    assert unknown.status_code == 400 and "not valid" in unknown.text
    old = world.link(now=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=11))
    expired = world.http.get(old)
    assert expired.status_code == 400 and "expired" in expired.text
    assert world.http.get("/oauth/start").status_code == 400
    hostile = world.http.get("/oauth/start?state=<script>alert(1)</script>")
    assert "<script>" not in hostile.text


def test_only_editors_make_links_and_a_demoted_user_s_link_stops_working(world: World) -> None:
    with world.session_factory.begin() as s:
        add_member(
            session=s, project_id=world.project_id, actor_user_id=OWNER, user_id="U3",
            role=Role.viewer,
        )  # fmt: skip
    with pytest.raises(PermissionDenied):
        world.link(user="U3")
    path = world.link(user=EDITOR)
    with world.session_factory.begin() as s:
        add_member(
            session=s, project_id=world.project_id, actor_user_id=OWNER, user_id=EDITOR,
            role=Role.viewer,
        )  # fmt: skip
    refused = world.http.get(path)
    assert refused.status_code == 400 and "no longer connect" in refused.text
    # A refused open spends the link: promoted again, the user needs a new one.
    with world.session_factory.begin() as s:
        add_member(
            session=s, project_id=world.project_id, actor_user_id=OWNER, user_id=EDITOR,
            role=Role.editor,
        )  # fmt: skip
    again = world.http.get(path)
    assert again.status_code == 400 and "already used" in again.text


def test_without_an_oauth_app_the_page_names_the_operator_command(world: World) -> None:
    # No link is made without an app (tests/cli/test_newcomer_errors_cli.py); an app removed
    # after its link was made is said on the page.
    link = world.link()
    with world.session_factory.begin() as s:
        s.query(OAuthApp).delete()
    page = world.http.get(link)
    assert page.status_code == 400
    assert "clixen oauth-app set oauth2" in page.text
    with world.session_factory.begin() as s, pytest.raises(NotFound, match="no OAuth app"):
        create_link(
            session=s, team_id=TEAM, user_id=OWNER, project_id=world.project_id,
            service="oauth2", public_url=PUBLIC,
        )  # fmt: skip


def test_a_link_nobody_consents_to_is_given_up_and_its_credential_deleted(
    world: World, n8n_client: N8nClient, n8n_user: N8nUserSession
) -> None:
    assert world.http.get(world.link()).status_code == 302
    with world.session_factory() as s:
        [request] = s.query(ConnectRequest).all()
        credential_id = str(request.n8n_credential_id)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=11)
    done = finish_connections(
        session_factory=world.session_factory, n8n=n8n_client, n8n_session=n8n_user, key=KEY,
        now=later,
    )  # fmt: skip
    assert done == []
    with world.session_factory() as s:
        assert s.query(ConnectRequest).one().outcome == "abandoned"
    with pytest.raises(N8nNotFound):
        n8n_user.oauth2_connection(credential_id)


def test_a_link_needs_a_public_url_and_a_known_service(world: World) -> None:
    with world.session_factory.begin() as s:
        with pytest.raises(InvalidInput, match="CLIXEN_PUBLIC_URL"):
            create_link(
                session=s, team_id=TEAM, user_id=OWNER, project_id=world.project_id,
                service="oauth2", public_url=None,
            )  # fmt: skip
        with pytest.raises(InvalidInput, match="google-sheets"):
            create_link(
                session=s, team_id=TEAM, user_id=OWNER, project_id=world.project_id,
                service="myspace", public_url=PUBLIC,
            )  # fmt: skip


def test_reconnecting_an_account_whose_n8n_credential_was_deleted_connects_a_new_one(
    world: World, n8n_client: N8nClient, n8n_user: N8nUserSession
) -> None:
    def connect() -> str:
        opened = world.http.get(world.link())
        assert opened.status_code == 302, opened.text
        world.provider.consent(opened.headers["location"])
        [done] = finish_connections(
            session_factory=world.session_factory, n8n=n8n_client, n8n_session=n8n_user, key=KEY
        )
        assert done.account.account == world.provider.email
        with world.session_factory() as s:
            return str(s.query(Secret).filter_by(name="OAUTH2").one().n8n_credential_id)

    first = connect()
    n8n_client.delete_credential(first)  # someone removed it in n8n's editor
    second = connect()
    assert second != first
    assert n8n_user.oauth2_connection(second).connected


def n8n_credentials(n8n: N8nStack) -> dict[str, str]:
    """Every credential in n8n, id → name (its public API lists them without a license)."""
    found: dict[str, str] = {}
    params: dict[str, str | int] = {"limit": 250}
    with httpx.Client(base_url=n8n.url, headers={"X-N8N-API-KEY": n8n.api_key}) as http:
        while True:
            page = http.get("/api/v1/credentials", params=params)
            page.raise_for_status()
            found |= {str(c["id"]): str(c["name"]) for c in page.json()["data"]}
            if not page.json().get("nextCursor"):
                return found
            params["cursor"] = page.json()["nextCursor"]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("failure", ["wrong sign-in", "n8n down", "n8n refuses the flow"])
def test_a_failed_start_leaves_no_credential_with_the_client_secret_in_n8n(
    world: World, n8n: N8nStack, n8n_client: N8nClient, n8n_user: N8nUserSession, failure: str
) -> None:
    # Another login than the owner's: n8n limits sign-ins per user, and others share this n8n.
    base = n8n.url if failure == "wrong sign-in" else f"http://127.0.0.1:{closed_port()}"
    if failure == "n8n refuses the flow":
        # An app n8n stores a credential for but cannot start a consent with (500): the
        # credential is written, then the start fails.
        with world.session_factory.begin() as s:
            s.query(OAuthApp).update({"auth_url": ""})
    before = n8n_credentials(n8n)
    with N8nUserSession(base, "nobody@clixen.invalid", "not-the-password") as bad_session:
        session = n8n_user if failure == "n8n refuses the flow" else bad_session
        path = world.link()
        with pytest.raises(LinkRefused, match="could not start"):
            open_link(
                session_factory=world.session_factory, n8n=n8n_client, n8n_session=session,
                state=path.split("state=", 1)[1], key=KEY,
            )  # fmt: skip
    # Shared n8n: others' tests add credentials too; none of the new ones may be this link's.
    name = f"clixen-p{world.project_id}-OAUTH2"
    added = {i: n for i, n in n8n_credentials(n8n).items() if i not in before}
    assert name not in added.values()
    with world.session_factory() as s:
        assert s.query(ConnectRequest).one().outcome == "failed"
    assert world.http.get(path).status_code == 400  # and the link is used up


def test_a_link_whose_open_failed_is_used_up(world: World) -> None:
    """A state that reached a log or a browser history while its open failed opens nothing
    later, even once the cause is fixed."""
    path = world.link()  # no link is made without an app: it goes after the link was made
    with world.session_factory.begin() as s:
        s.query(OAuthApp).delete()
    assert "clixen oauth-app set" in world.http.get(path).text
    with world.session_factory.begin() as s:
        set_oauth_app(
            session=s, provider="oauth2", client_id=world.provider.client_id,
            client_secret=world.provider.client_secret, key=KEY, actor="operator",
            auth_url=f"{world.provider.base_url}/authorize",
            token_url=f"{world.provider.base_url}/token", allowed_hosts=["127.0.0.1"],
        )  # fmt: skip
    again = world.http.get(path)
    assert again.status_code == 400 and "already used" in again.text
    with world.session_factory() as s:
        assert s.query(ConnectRequest).one().outcome == "failed"
