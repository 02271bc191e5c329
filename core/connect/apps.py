"""OAuth apps: the client id and secret an operator registered with each provider, set once for
the whole instance (`clixen oauth-app set google …`), never by each user.

The client secret is encrypted like a project secret (`core.credentials.crypto`, bound to the name
`OAUTH_APP_<PROVIDER>` of the instance, project 0) and decrypted only to write it into the n8n
credential of a connection.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.catalog.credential_domains import OWNER_NAMED, normalize_allowed_host, restriction
from core.connect.connectable import GENERIC_PROVIDER, Service, check_provider
from core.credentials.crypto import decrypt_value, encrypt
from core.kernel.errors import InvalidInput, NotFound
from core.kernel.models import OAuthApp

_INSTANCE = 0  # the "project" an OAuth app's secret is bound to: the instance itself


@dataclass(frozen=True)
class OAuthAppInfo:
    """What may be shown about an OAuth app: never its client secret."""

    provider: str
    client_id: str
    auth_url: str | None
    token_url: str | None
    scope: str | None
    set_by: str
    updated_at: dt.datetime
    allowed_hosts: tuple[str, ...] = ()


def _binding(provider: str) -> str:
    return f"OAUTH_APP_{provider.upper()}"


def _url(value: str | None, what: str) -> str | None:
    if value is None:
        return None
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidInput(f"The {what} must be an http(s) URL, e.g. https://example.com/oauth.")
    return value.strip()


def set_oauth_app(
    *,
    session: Session,
    provider: str,
    client_id: str,
    client_secret: str,
    key: str,
    actor: str,
    auth_url: str | None = None,
    token_url: str | None = None,
    scope: str | None = None,
    allowed_hosts: Sequence[str] = (),
) -> OAuthAppInfo:
    """Register (or replace) the OAuth app of `provider`. The generic provider needs its
    authorization and token URLs, and the API hosts its tokens may be sent to (`allowed_hosts`:
    every connected account's n8n credential is restricted to them); the others have theirs in
    n8n and Clixen's domain table. InvalidInput says what's off."""
    provider = check_provider(provider)
    if not client_id.strip() or not client_secret.strip():
        raise InvalidInput("Both a client id and a client secret are needed (from the provider).")
    auth, token = _url(auth_url, "authorization URL"), _url(token_url, "token URL")
    if provider == GENERIC_PROVIDER and not (auth and token):
        raise InvalidInput(
            "The generic oauth2 provider needs --auth-url and --token-url (the provider's "
            "authorization and token endpoints)."
        )
    try:
        hosts = list(dict.fromkeys(normalize_allowed_host(h) for h in allowed_hosts))
    except ValueError as e:
        raise InvalidInput(str(e)) from None
    if provider == GENERIC_PROVIDER and not hosts:
        raise InvalidInput(generic_hosts_needed())
    ciphertext = encrypt(
        session,
        value=client_secret.strip(),
        key=key,
        project_id=_INSTANCE,
        name=_binding(provider),
    )
    app = session.scalar(select(OAuthApp).where(OAuthApp.provider == provider))
    if app is None:
        app = OAuthApp(provider=provider)
        session.add(app)
    app.client_id, app.ciphertext, app.set_by = client_id.strip(), ciphertext, actor
    app.auth_url, app.token_url, app.scope = auth, token, (scope or "").strip() or None
    app.allowed_hosts = hosts or None
    session.flush()
    return _info(app)


def _info(app: OAuthApp) -> OAuthAppInfo:
    return OAuthAppInfo(
        app.provider,
        app.client_id,
        app.auth_url,
        app.token_url,
        app.scope,
        app.set_by,
        app.updated_at,
        tuple(app.allowed_hosts or ()),
    )


def list_oauth_apps(*, session: Session) -> list[OAuthAppInfo]:
    """Every registered OAuth app, by provider name."""
    return [_info(a) for a in session.scalars(select(OAuthApp).order_by(OAuthApp.provider))]


def generic_hosts_needed() -> str:
    """What to do when the generic OAuth2 app names no API host."""
    return (
        "A generic OAuth2 account authenticates whatever host a workflow calls: name the API "
        "hosts its tokens may be sent to, e.g. `clixen oauth-app set oauth2 --auth-url … "
        "--token-url … --allowed-host api.example.com` (operator, once)."
    )


def app_hosts(*, session: Session, service: Service) -> list[str]:
    """The hosts the provider's app names for its tokens (the generic provider's API hosts)."""
    app = session.scalar(select(OAuthApp).where(OAuthApp.provider == service.provider))
    return list(app.allowed_hosts or ()) if app is not None else []


def credential_data(*, session: Session, service: Service, key: str) -> dict[str, Any]:
    """The `data` of a connected account's n8n credential for `service`: its provider's client
    id and secret (and, for the generic provider, its endpoints and scopes), with the domain
    restriction every credential Clixen writes carries (`core.catalog.credential_domains`: the
    service's domains, or the generic app's named hosts). NotFound names the command to run
    when no app is registered for the provider; InvalidInput when the generic app names no
    host."""
    app = session.scalar(select(OAuthApp).where(OAuthApp.provider == service.provider))
    if app is None:
        raise NotFound(
            f"No OAuth app is registered for {service.provider}: an operator runs "
            f"`clixen oauth-app set {service.provider} --client-id … --client-secret-stdin` once."
        )
    # An app's client secret is bound to the instance, not to a project.
    client_secret = decrypt_value(
        session,
        ciphertext=app.ciphertext,
        project_id=_INSTANCE,
        name=_binding(app.provider),
        key=key,
    )
    data: dict[str, Any] = {"clientId": app.client_id, "clientSecret": client_secret}
    if service.scopes:
        data.update(customScopes=True, enabledScopes=" ".join(service.scopes))
    if service.provider == GENERIC_PROVIDER:
        data.update(
            grantType="authorizationCode",
            authUrl=app.auth_url,
            accessTokenUrl=app.token_url,
            scope=app.scope or "",
            authQueryParameters="",
            authentication="header",
        )
    hosts = tuple(app.allowed_hosts or ())
    if service.credential_type in OWNER_NAMED and not hosts:
        raise InvalidInput(generic_hosts_needed())
    return {**data, **restriction(service.credential_type, {}, hosts)}
