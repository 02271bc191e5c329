"""The operator's and the terminal user's side of connecting an account: `clixen oauth-app set`
(secret from stdin, never printed), `clixen create` that waits for an OAuth2 credential prints
`clixen connect … --wait`, which prints the link, waits for the consent, binds the account and
resumes the run; `clixen accounts` and `clixen disconnect`. Real Postgres + n8n, the scripted
LLM and the local OAuth2 provider."""

from __future__ import annotations

import io
import sys
import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.connect import open_link
from core.kernel.models import ConnectRequest, PipelineRun
from core.kernel.settings import get_settings
from core.kernel.vocabulary import RunState
from core.n8n import N8nClient, N8nNotFound
from core.n8n.session import N8nUserSession
from tests.cli.common import run
from tests.conftest import CLI_SECRET_KEY
from tests.doubles.llm_server import ScriptedLLM
from tests.doubles.oauth_provider import OAuthProvider
from tests.e2e.test_connect_account import fetch_from_provider
from tests.workflows import answer

PUBLIC = "https://clixen.example.test"


@pytest.fixture
def cli_env(
    cli_env: N8nClient,
    monkeypatch: pytest.MonkeyPatch,
    n8n_user: N8nUserSession,
    session_factory: sessionmaker[Session],
) -> Iterator[N8nClient]:
    """The CLI tests' environment (tests/conftest.py), plus where Clixen is reached and the n8n
    user it starts OAuth2 flows as; afterwards deletes the credentials connect links created."""
    monkeypatch.setenv("CLIXEN_PUBLIC_URL", PUBLIC)
    monkeypatch.setenv("N8N_OWNER_EMAIL", n8n_user._email)
    monkeypatch.setenv("N8N_OWNER_PASSWORD", n8n_user._password)
    get_settings.cache_clear()
    yield cli_env
    with session_factory() as s:
        ids = [c for c in s.scalars(select(ConnectRequest.n8n_credential_id)) if c]
    for cid in set(ids):
        cli_env.delete_credential(cid)


def test_connect_from_the_terminal_binds_the_account_and_resumes_the_run(
    cli_env: N8nClient,
    n8n_user: N8nUserSession,
    llm: ScriptedLLM,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    session_factory: sessionmaker[Session],
) -> None:
    with OAuthProvider() as provider:
        monkeypatch.setattr(sys, "stdin", io.StringIO(provider.client_secret + "\n"))
        code, out, err = run(
            capsys, "oauth-app", "set", "oauth2", "--client-id", provider.client_id,
            "--client-secret-stdin", "--auth-url", f"{provider.base_url}/authorize",
            "--token-url", f"{provider.base_url}/token", "--scope", "openid email",
            "--allowed-host", "127.0.0.1",
        )  # fmt: skip
        assert code == 0, err
        assert "redirect URL" in out and "/rest/oauth2-credential/callback" in out
        code, out, _ = run(capsys, "oauth-app", "list")
        assert provider.client_id in out and provider.client_secret not in out

        code, out, err = run(capsys, "policy", "allow-host", "127.0.0.1")  # the local provider
        assert code == 0, err
        llm.script(answer(fetch_from_provider(provider, "cli-whoami"), "Asks the API."))
        code, out, err = run(capsys, "create", "ask the API who I am", "--watch", "0")
        assert code == 4, (out, err)
        with session_factory() as s:
            waiting = s.scalars(select(PipelineRun)).one()
        assert f"Ask the API: clixen connect oauth2 --run {waiting.id} --wait" in out

        result: dict[str, tuple[int, str, str]] = {}
        waiter = threading.Thread(
            target=lambda: result.update(
                done=run(capsys, "connect", "oauth2", "--run", str(waiting.id), "--wait")
            )
        )
        waiter.start()
        deadline, printed = time.monotonic() + 30, ""
        while "state=" not in printed and time.monotonic() < deadline:
            printed += capsys.readouterr().out
            time.sleep(0.05)
        state = printed.split("state=", 1)[1].split()[0]
        consent_url = open_link(
            session_factory=session_factory, n8n=cli_env, n8n_session=n8n_user, state=state,
            key=CLI_SECRET_KEY,
        )  # fmt: skip
        provider.consent(consent_url)
        waiter.join(timeout=60)
        code, out, err = result["done"]  # `run` read what the command printed after the link
        assert code == 0, err
        assert f"OAuth2 connected as {provider.email}." in out
        assert f"[run {waiting.id}] succeeded:" in out
        with session_factory() as s:
            assert s.get(PipelineRun, waiting.id).state == RunState.succeeded  # type: ignore[union-attr]
            credential_id = str(s.scalars(select(ConnectRequest.n8n_credential_id)).one())

        code, out, _ = run(capsys, "accounts")
        assert code == 0 and "oauth2" in out and provider.email in out and "ok" in out
        monkeypatch.setattr(sys, "stdin", io.StringIO("pasted-over-the-token\n"))
        code, out, err = run(capsys, "secret", "set", "OAUTH2")
        assert code == 1 and "is a connected account" in err and "clixen connect oauth2" in err
        code, out, _ = run(capsys, "disconnect", "oauth2")
        assert code == 0 and "disconnected" in out
        with pytest.raises(N8nNotFound):
            n8n_user.oauth2_connection(credential_id)
        code, out, _ = run(capsys, "accounts")
        assert "No connected account" in out
