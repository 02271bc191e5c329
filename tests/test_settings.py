"""Settings fail fast, name the variable and its purpose, and refuse placeholders in production."""

from __future__ import annotations

import pytest
from alembic.script import ScriptDirectory

from cli import main
from core.kernel import db
from core.kernel.errors import SettingsError
from core.kernel.settings import Settings


def _settings(**env: str) -> Settings:
    return Settings(_env_file=None, **env)  # type: ignore[call-arg]


def test_missing_variable_is_named_with_its_purpose(monkeypatch: pytest.MonkeyPatch) -> None:
    # Test runs against another n8n set N8N_URL (see README): it must not count as set here.
    monkeypatch.delenv("N8N_URL", raising=False)
    s = _settings(CLIXEN_ENV="production")
    with pytest.raises(SettingsError) as err:
        s.require("SLACK_SIGNING_SECRET", "N8N_URL")
    text = str(err.value)
    assert "SLACK_SIGNING_SECRET is not set" in text
    assert "verify every request from Slack" in text
    assert "N8N_URL is not set" in text


def test_placeholder_secret_refused_outside_development() -> None:
    s = _settings(CLIXEN_ENV="production", CLIXEN_SECRET_KEY="changeme")
    with pytest.raises(SettingsError, match="CLIXEN_SECRET_KEY looks like a placeholder"):
        s.require("CLIXEN_SECRET_KEY")


def test_placeholder_accepted_in_development() -> None:
    _settings(CLIXEN_ENV="development", CLIXEN_SECRET_KEY="changeme").require("CLIXEN_SECRET_KEY")


def test_postgres_url_gets_psycopg_driver() -> None:
    s = _settings(DATABASE_URL="postgres://u@h:5432/d")
    assert s.database_url == "postgresql+psycopg://u@h:5432/d"


def test_database_defaults_to_embedded_sqlite(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert _settings().database_url.startswith("sqlite:///")


def test_cli_db_upgrade_on_given_url(tmp_path, monkeypatch, capsys) -> None:
    url = f"sqlite:///{tmp_path / 'x.sqlite3'}"
    monkeypatch.setenv("DATABASE_URL", url)
    from core.kernel.settings import get_settings

    get_settings.cache_clear()
    try:
        assert main(["db", "upgrade"]) == 0
        head = ScriptDirectory.from_config(db.alembic_config(url)).get_current_head()
        assert f"database at revision {head}" in capsys.readouterr().out
        assert main(["db", "downgrade", "base"]) == 0
        assert "base (empty)" in capsys.readouterr().out
    finally:
        get_settings.cache_clear()


def test_a_database_without_tables_says_which_command_sets_it_up(
    tmp_path, monkeypatch, capsys
) -> None:
    """`clixen list` on an unmigrated DATABASE_URL: the command to run, not a SQL traceback."""
    url = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    monkeypatch.setenv("DATABASE_URL", url)
    from core.kernel.settings import get_settings

    get_settings.cache_clear()
    try:
        assert main(["list"]) == 2
        assert "run `clixen db upgrade`" in capsys.readouterr().err
        assert main(["db", "upgrade"]) == 0
        capsys.readouterr()
        assert main(["list"]) == 0
        assert "no workflows yet" in capsys.readouterr().out
    finally:
        get_settings.cache_clear()


def test_no_secret_shows_in_the_settings_repr() -> None:
    """A Settings object in a log line, a traceback's locals or an error message shows no key."""
    secrets = {
        "N8N_API_KEY": "n8n-key-canary",
        "N8N_OWNER_PASSWORD": "owner-password-canary",
        "OPENAI_API_KEY": "sk-canary-openai",
        "SLACK_BOT_TOKEN": "xoxb-canary",
        "SLACK_SIGNING_SECRET": "signing-canary",
        "SLACK_APP_TOKEN": "xapp-canary",
        "CLIXEN_SECRET_KEY": "secret-key-canary-0123456789",
        "CLIXEN_METRICS_TOKEN": "metrics-canary",
    }
    settings = Settings(_env_file=None, **secrets)  # type: ignore[call-arg]
    shown = repr(settings) + str(settings)
    assert [k for k, v in secrets.items() if v in shown] == []
    assert settings.slack_bot_token == "xoxb-canary"  # still there for the code that uses it
