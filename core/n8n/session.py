"""The n8n endpoints that need an n8n *user* session, not the public-API key: n8n's own OAuth2
flow (`/rest/oauth2-credential/auth`) and whether a credential holds a token.

Clixen signs in server-side as one n8n user (the owner the stack script creates); the session
cookie never leaves this process. Verified on n8n 2.40.7: `POST /rest/login` with a `browser-id`
header sets the `n8n-auth` cookie, which `GET /rest/oauth2-credential/auth?id=…` accepts (same
browser-id); it answers the provider's consent URL whose `state` n8n keeps server-side for 5
minutes, single use. `GET /rest/credentials/{id}?includeData=true` shows `oauthTokenData: true`
once n8n stored a token (never the token) and `accountIdentifier` (the email of an OpenID
`id_token`, when the provider sent one).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import httpx

from core.kernel.settings import Settings
from core.n8n.client import guard_request
from core.n8n.errors import N8nConnectionError, N8nError, error_for_status

_TIMEOUT = httpx.Timeout(20.0, connect=5.0)


@dataclass(frozen=True)
class OAuthConnection:
    """What n8n says of an OAuth2 credential: connected (holds a token) and as whom."""

    connected: bool
    account: str | None
    updated_at: str | None  # n8n's `updatedAt`: changes when its callback stores a token


class N8nUserSession:
    """An n8n user session for the internal REST endpoints; signs in on first use and again
    when n8n answers 401 (an expired cookie). Keep one per process: n8n 2.40.7 allows 5
    sign-ins per minute and user (`POST /rest/login`, keyed rate limit), then answers 429."""

    def __init__(
        self,
        base_url: str,
        email: str,
        password: str,
        *,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._email, self._password = email, password
        self._signed_in = False
        # n8n binds its auth cookie to this header; one value for the life of the session.
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"browser-id": "clixen-" + secrets.token_hex(8), "Accept": "application/json"},
            timeout=_TIMEOUT,
            transport=transport,
            event_hooks={"request": [guard_request]},
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> N8nUserSession:
        """The session of N8N_OWNER_EMAIL on N8N_URL; SettingsError naming what is unset."""
        settings.require("N8N_URL", "N8N_OWNER_EMAIL", "N8N_OWNER_PASSWORD")
        assert settings.n8n_url and settings.n8n_owner_email and settings.n8n_owner_password
        return cls(settings.n8n_url, settings.n8n_owner_email, settings.n8n_owner_password)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> N8nUserSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _sign_in(self) -> None:
        try:
            response = self._http.post(
                "/rest/login",
                json={"emailOrLdapLoginId": self._email, "password": self._password},
            )
        except httpx.HTTPError as e:
            raise N8nConnectionError(f"n8n sign-in failed: {type(e).__name__}") from e
        if response.status_code != 200:
            # Never the password; n8n's message says e.g. "Wrong username or password".
            raise N8nError(
                f"n8n refused the sign-in of {self._email} ({response.status_code}): check "
                "N8N_OWNER_EMAIL / N8N_OWNER_PASSWORD."
            )
        self._signed_in = True

    def sign_in(self) -> None:
        """Make sure the session is signed in (signs in unless it already is): a caller about to
        write something for the flow calls this first, so a wrong password or an n8n that does
        not answer fails before anything is written. N8nError when n8n refuses or is down."""
        if not self._signed_in:
            self._sign_in()

    def check(self) -> None:
        """Ask n8n who this session is (`GET /rest/login`), signing in when needed: N8nError
        when the owner cannot sign in. Cheap once signed in (no new sign-in per call)."""
        self._get("/rest/login", {})

    def _get(self, path: str, params: dict[str, str]) -> Any:
        for attempt in range(2):
            if not self._signed_in:
                self._sign_in()
            try:
                response = self._http.get(path, params=params)
            except httpx.HTTPError as e:
                raise N8nConnectionError(f"n8n did not answer {path}: {type(e).__name__}") from e
            if response.status_code == 401 and attempt == 0:
                self._signed_in = False
                continue
            if response.status_code != 200:
                cls = error_for_status(response.status_code)
                raise cls(response.status_code, "n8n refused the request", method="GET", path=path)
            return response.json().get("data")
        raise N8nError(f"n8n keeps refusing the session on {path}")

    def oauth2_consent_url(self, credential_id: str) -> str:
        """The provider's consent URL for an OAuth2 credential (n8n's state inside, valid 5
        minutes, single use); after consent the provider sends the browser to n8n's callback."""
        url = self._get("/rest/oauth2-credential/auth", {"id": credential_id})
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise N8nError("n8n gave no consent URL for the credential")
        return url

    def oauth2_connection(self, credential_id: str) -> OAuthConnection:
        """Whether n8n holds a token for the credential, and the account it names."""
        data = self._get(f"/rest/credentials/{credential_id}", {"includeData": "true"})
        outer: dict[str, Any] = data if isinstance(data, dict) else {}
        inner: dict[str, Any] = outer["data"] if isinstance(outer.get("data"), dict) else {}
        account = inner.get("accountIdentifier")
        updated = outer.get("updatedAt")
        return OAuthConnection(
            connected=bool(inner.get("oauthTokenData")),
            account=account[:320] if isinstance(account, str) and account else None,
            updated_at=str(updated)[:40] if updated else None,
        )
