"""A local OAuth2 provider (authorization-code grant) on 127.0.0.1, the double at the network
edge of "connect an account": what Google or Microsoft are to the product, minus the internet.

Endpoints (all on `base_url`):
- `GET /authorize` — the consent page. The user is taken to have agreed (or refused, when
  `refuse_consent` is set): 302 to `redirect_uri` with `code` and the same `state`.
- `POST /token` — `authorization_code` (code, redirect_uri and client checked; answers an access
  token, a refresh token, `expires_in` and an OpenID `id_token` naming the account's email) and
  `refresh_token` (a new access token; `invalid_grant` once consent was revoked).
- `GET /api/me` — the protected API: 401 unless `Authorization: Bearer <live access token>`.
- `POST /revoke` — the user withdraws consent: every token of the grant stops working.

The test side: `expire_access_tokens()`, `revoke()`, and `events` (what happened, in order,
e.g. `("token", "authorization_code")`, `("api", "ok")`), with `wait_for(event)`.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def _b64(data: dict[str, Any]) -> str:
    raw = json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@dataclass
class _Grant:
    refresh_token: str
    access_tokens: set[str] = field(default_factory=set)
    revoked: bool = False
    # Who consented (the provider's `email` then): the API answers each token with its own.
    email: str = ""


class OAuthProvider:
    """Use as a context manager. `client_id` / `client_secret` are the registered OAuth app;
    `email` is who the consenting user is."""

    def __init__(
        self,
        *,
        client_id: str = "clixen-test-app",
        client_secret: str = "app-secret-5f7e",  # noqa: S107 - a test double's app
        email: str = "ada@example.com",
    ) -> None:
        self.client_id, self.client_secret, self.email = client_id, client_secret, email
        self.refuse_consent = False
        self.events: list[tuple[str, str]] = []
        self.redirect_uris: list[str] = []
        self._codes: dict[str, tuple[str, str]] = {}  # code → (redirect_uri, scope)
        self._grants: list[_Grant] = []
        self._live: set[str] = set()
        self._changed = threading.Condition()
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: dict[str, Any], headers: dict[str, str]) -> None:
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(raw)

            def do_GET(self) -> None:
                url = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(url.query))
                if url.path == "/authorize":
                    status, body, headers = provider._authorize(query)
                elif url.path == "/api/me":
                    status, body, headers = provider._api(self.headers.get("Authorization", ""))
                else:
                    status, body, headers = 404, {"error": "not_found"}, {}
                self._send(status, body, headers)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
                path = urllib.parse.urlsplit(self.path).path
                if path == "/token":
                    status, body = provider._token(form, self.headers.get("Authorization", ""))
                elif path == "/revoke":
                    provider.revoke()
                    status, body = 200, {}
                else:
                    status, body = 404, {"error": "not_found"}
                self._send(status, body, {})

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    # --- the provider's rules ------------------------------------------------------------

    def _event(self, kind: str, what: str) -> None:
        with self._changed:
            self.events.append((kind, what))
            self._changed.notify_all()

    def _authorize(self, q: dict[str, str]) -> tuple[int, dict[str, Any], dict[str, str]]:
        if q.get("client_id") != self.client_id or q.get("response_type") != "code":
            return 400, {"error": "invalid_client"}, {}
        redirect = q.get("redirect_uri", "")
        self.redirect_uris.append(redirect)
        back: dict[str, str] = {"state": q.get("state", "")}
        if self.refuse_consent:
            back["error"] = "access_denied"
            self._event("authorize", "refused")
        else:
            code = secrets.token_urlsafe(16)
            self._codes[code] = (redirect, q.get("scope", ""))
            back["code"] = code
            self._event("authorize", "consented")
        sep = "&" if "?" in redirect else "?"
        return 302, {}, {"Location": redirect + sep + urllib.parse.urlencode(back)}

    def _client_ok(self, form: dict[str, str], authorization: str) -> bool:
        if authorization.startswith("Basic "):
            pair = base64.b64decode(authorization[6:]).decode()
            cid, _, secret = pair.partition(":")
            cid, secret = urllib.parse.unquote_plus(cid), urllib.parse.unquote_plus(secret)
        else:
            cid, secret = form.get("client_id", ""), form.get("client_secret", "")
        return (cid, secret) == (self.client_id, self.client_secret)

    def _new_access(self, grant: _Grant) -> dict[str, Any]:
        token = "at-" + secrets.token_urlsafe(12)
        grant.access_tokens.add(token)
        self._live.add(token)
        return {"access_token": token, "token_type": "Bearer", "expires_in": 3600}

    def _token(self, form: dict[str, str], authorization: str) -> tuple[int, dict[str, Any]]:
        if not self._client_ok(form, authorization):
            return 401, {"error": "invalid_client"}
        kind = form.get("grant_type", "")
        if kind == "authorization_code":
            issued = self._codes.pop(form.get("code", ""), None)
            if issued is None or issued[0] != form.get("redirect_uri"):
                self._event("token", "authorization_code refused")
                return 400, {"error": "invalid_grant"}
            grant = _Grant(refresh_token="rt-" + secrets.token_urlsafe(12), email=self.email)
            self._grants.append(grant)
            body = self._new_access(grant)
            id_token = ".".join(
                [_b64({"alg": "none"}), _b64({"email": self.email, "sub": "1"}), "sig"]
            )
            body.update(refresh_token=grant.refresh_token, scope=issued[1], id_token=id_token)
            self._event("token", "authorization_code")
            return 200, body
        if kind == "refresh_token":
            found = [g for g in self._grants if g.refresh_token == form.get("refresh_token")]
            if not found or found[0].revoked:
                self._event("token", "refresh refused")
                return 400, {"error": "invalid_grant", "error_description": "Token revoked"}
            self._event("token", "refresh")
            return 200, self._new_access(found[0])
        return 400, {"error": "unsupported_grant_type"}

    def _api(self, authorization: str) -> tuple[int, dict[str, Any], dict[str, str]]:
        token = authorization[7:] if authorization.startswith("Bearer ") else ""
        if token not in self._live:
            self._event("api", "unauthorized")
            return 401, {"error": "invalid_token"}, {"WWW-Authenticate": "Bearer"}
        self._event("api", "ok")
        owner = next((g.email for g in self._grants if token in g.access_tokens), self.email)
        return 200, {"email": owner, "ok": True}, {}

    # --- the test's side -----------------------------------------------------------------

    def tokens(self) -> list[str]:
        """Every access and refresh token issued: for asserting none leaked anywhere."""
        issued = [g.refresh_token for g in self._grants]
        return issued + [t for g in self._grants for t in g.access_tokens]

    def expire_access_tokens(self) -> None:
        """Every access token issued so far stops working (refresh tokens still do)."""
        self._live.clear()

    def revoke(self) -> None:
        """The user withdraws consent: access and refresh tokens of every grant stop working."""
        for grant in self._grants:
            grant.revoked = True
        self._live.clear()
        self._event("revoke", "all")

    def wait_for(self, event: tuple[str, str], *, count: int = 1, timeout: float = 60.0) -> None:
        """Until `event` happened `count` times; AssertionError with the events after `timeout`."""
        with self._changed:
            ok = self._changed.wait_for(lambda: self.events.count(event) >= count, timeout)
        assert ok, f"{event} x{count} did not happen; events: {self.events}"

    @staticmethod
    def consent(consent_url: str) -> str:
        """The user's browser on `consent_url`: consent here, then n8n's callback page (its
        text). AssertionError naming the n8n setting when n8n refused the callback."""
        import httpx  # the tests' HTTP client; the provider itself needs none

        page = httpx.get(consent_url, follow_redirects=True, timeout=30).text
        assert "Connection successful" in page, (
            "n8n refused its OAuth2 callback. It must run with "
            "N8N_SKIP_AUTH_ON_OAUTH_CALLBACK=true (scripts/n8n_stack.sh sets it: "
            "scripts/n8n_stack.sh stop && scripts/n8n_stack.sh start). Its page: " + page[-400:]
        )
        return page

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> OAuthProvider:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
