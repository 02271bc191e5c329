"""The provider presets against the real n8n: a link for Google Sheets, Gmail, Outlook or HubSpot
makes n8n build that provider's real consent URL (no request leaves the machine: n8n only builds
the URL) with the operator's client id, n8n's callback as redirect URL, the scopes the n8n nodes
need (Google's plus `openid email`, so the account is named) and offline access."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy.orm import Session, sessionmaker

from core.connect import SERVICES, create_link, open_link
from core.connect.apps import list_oauth_apps, set_oauth_app
from core.kernel.errors import InvalidInput
from core.kernel.models import ConnectRequest
from core.n8n import N8nClient
from core.n8n.session import N8nUserSession
from tests.builders import new_project

TEAM, USER = "T1", "U1"
KEY = "k3y-for-connect-preset-tests-8e9f"


@pytest.fixture
def project_id(session_factory: sessionmaker[Session], n8n_client: N8nClient) -> Iterator[int]:
    pid = new_project(session_factory, team_id=TEAM, user_id=USER)
    with session_factory.begin() as s:
        for provider in ("google", "microsoft", "hubspot"):
            set_oauth_app(
                session=s, provider=provider, client_id=f"{provider}-client-id",
                client_secret=f"{provider}-client-secret", key=KEY, actor="operator",
            )  # fmt: skip
    yield pid
    with session_factory() as s:
        ids = [c for (c,) in s.query(ConnectRequest.n8n_credential_id) if c]
    for cid in ids:
        n8n_client.delete_credential(cid)


def consent_query(
    session_factory: sessionmaker[Session],
    n8n_client: N8nClient,
    n8n_user: N8nUserSession,
    project_id: int,
    service: str,
) -> tuple[str, dict[str, str]]:
    with session_factory.begin() as s:
        link = create_link(
            session=s, team_id=TEAM, user_id=USER, project_id=project_id, service=service,
            public_url="https://clixen.example.test",
        )  # fmt: skip
    url = open_link(
        session_factory=session_factory, n8n=n8n_client, n8n_session=n8n_user,
        state=link.url.split("state=", 1)[1], key=KEY,
    )  # fmt: skip
    parts = urlsplit(url)
    return parts.netloc, {k: v[0] for k, v in parse_qs(parts.query).items()}


@pytest.mark.parametrize(
    ("service", "host", "must_scope"),
    [
        ("google-sheets", "accounts.google.com", "https://www.googleapis.com/auth/spreadsheets"),
        ("gmail", "accounts.google.com", "https://www.googleapis.com/auth/gmail.modify"),
        ("outlook", "login.microsoftonline.com", "Mail.Send"),
        ("hubspot", "app.hubspot.com", "crm.objects.contacts.read"),
    ],
)
def test_presets_make_n8n_build_the_provider_s_consent_url(
    session_factory: sessionmaker[Session],
    n8n_client: N8nClient,
    n8n_user: N8nUserSession,
    project_id: int,
    service: str,
    host: str,
    must_scope: str,
) -> None:
    netloc, query = consent_query(session_factory, n8n_client, n8n_user, project_id, service)
    provider = next(s for s in SERVICES if s.name == service).provider
    assert netloc == host
    assert query["client_id"] == f"{provider}-client-id"
    assert query["redirect_uri"] == f"{n8n_client.base_url}/rest/oauth2-credential/callback"
    assert query["response_type"] == "code" and query["state"]
    scopes = query["scope"].split()
    assert must_scope in scopes
    if provider == "google":
        assert {"openid", "email"} <= set(scopes)  # the token then names the account
        assert query["access_type"] == "offline"  # n8n gets a refresh token
    if provider == "microsoft":
        assert {"openid", "offline_access"} <= set(scopes)


def test_an_app_s_secret_is_never_listed_and_the_generic_one_needs_its_urls(
    session_factory: sessionmaker[Session], project_id: int
) -> None:
    with session_factory() as s:
        apps = {a.provider: a for a in list_oauth_apps(session=s)}
    assert apps["google"].client_id == "google-client-id"
    assert "google-client-secret" not in repr(apps)
    with session_factory.begin() as s, pytest.raises(InvalidInput, match="--auth-url"):
        set_oauth_app(
            session=s, provider="oauth2", client_id="x", client_secret="y", key=KEY,
            actor="operator",
        )  # fmt: skip
    with session_factory.begin() as s, pytest.raises(InvalidInput, match="not an OAuth provider"):
        set_oauth_app(
            session=s, provider="myspace", client_id="x", client_secret="y", key=KEY,
            actor="operator",
        )  # fmt: skip
