"""The CLI tests' shared setup: the `clixen` CLI pointed at the test database and the real n8n."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy.orm import Session, sessionmaker

from cli import main
from core.kernel.settings import get_settings
from core.n8n import N8nClient
from tests.builders import delete_deployed
from tests.conftest import N8nStack


@contextmanager
def cli_against(
    monkeypatch: pytest.MonkeyPatch,
    session_factory: sessionmaker[Session],
    *,
    database_url: str,
    n8n: N8nStack,
    user: str,
) -> Iterator[N8nClient]:
    """Settings from the test database and n8n, acting as cli:`user` (other variables the caller
    set stay); yields an n8n client, and deletes from n8n what the test deployed."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("N8N_URL", n8n.url)
    monkeypatch.setenv("N8N_API_KEY", n8n.api_key)
    monkeypatch.setenv("CLIXEN_CLI_USER", user)
    get_settings.cache_clear()
    with N8nClient(n8n.url, n8n.api_key) as client:
        yield client
        delete_deployed(session_factory, client)
    get_settings.cache_clear()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """`clixen *argv` in this process: exit code, stdout, stderr."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err
