"""`clixen token create --read-only`: a token that lists workflows and versions and never rolls
back; `clixen token list` tells the scopes apart. Real Postgres."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from core.kernel.errors import PermissionDenied
from core.kernel.settings import get_settings
from core.kernel.vocabulary import Role
from core.workspace import api_tokens
from tests.cli.common import run


def test_token_create_read_only_makes_a_viewer_token(
    monkeypatch: pytest.MonkeyPatch,
    database_url: str,
    session_factory: sessionmaker[Session],
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("CLIXEN_CLI_USER", "dora")
    get_settings.cache_clear()
    code, out, err = run(capsys, "token", "create", "dashboard", "--read-only")
    assert code == 0, (out, err)
    assert "read-only API token" in out
    raw = next(line for line in out.splitlines() if line.startswith("clx_"))
    code, out, err = run(capsys, "token", "create", "deployer")
    assert code == 0 and "read-only" not in out
    code, out, _ = run(capsys, "token", "list")
    lines = out.splitlines()
    assert "read-only" in next(line for line in lines if "dashboard" in line)
    assert "read-write" in next(line for line in lines if "deployer" in line)
    with session_factory.begin() as s:
        api_tokens.authenticate(session=s, raw_token=raw)  # reads pass
        with pytest.raises(PermissionDenied, match="read-only"):
            api_tokens.authenticate(session=s, raw_token=raw, at_least=Role.editor)
    get_settings.cache_clear()
