"""A node without the credential it needs is visible before n8n: `clixen validate` reports it
(a warning naming the type and the `clixen secret set` to run), and `clixen deploy` binds the
project's only secret of that type or stops before any n8n call with that command. Real Postgres
and n8n."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.catalog import default_catalog
from core.kernel.models import Workflow
from core.n8n import N8nClient
from core.validation import validate
from tests.cli.common import run
from tests.core.test_credentials import rss_to_slack

COMMAND = "clixen secret set SLACK_API --type slackApi"


@pytest.fixture
def slack_file(tmp_path: Path) -> Path:
    path = tmp_path / "rss.json"
    path.write_text(json.dumps(rss_to_slack()))
    return path


def test_the_validator_reports_a_slack_node_without_a_credential() -> None:
    report = validate(rss_to_slack(), catalog=default_catalog())
    [issue] = [i for i in report.issues if i.code == "missing_credentials"]
    # A warning: deploy binds credentials (or stops); the LLM cannot create a secret.
    assert issue.severity == "warning" and issue.node == "Post to Slack"
    assert "slackApi" in issue.message and COMMAND in issue.message
    bound = rss_to_slack({"slackApi": {"name": "SLACK_API"}})
    assert "missing_credentials" not in [i.code for i in validate(bound).issues]


def test_clixen_validate_shows_it(slack_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "validate", str(slack_file))
    assert code == 0
    assert "warning: missing_credentials [Post to Slack]" in out and COMMAND in out


def test_clixen_deploy_stops_before_n8n_when_no_credential_can_be_bound(
    cli_env: N8nClient,
    slack_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    session_factory: sessionmaker[Session],
) -> None:
    from core.kernel.settings import get_settings

    # n8n unreachable: the command must stop on the missing credential, not on n8n.
    monkeypatch.setenv("N8N_URL", "http://127.0.0.1:9")
    get_settings.cache_clear()
    code, out, err = run(capsys, "deploy", str(slack_file))
    assert code != 0, out
    assert 'Node "Post to Slack" needs a slackApi credential' in err and COMMAND in err
    assert "cannot reach" not in err.lower()
    with session_factory() as s:
        assert s.scalars(select(Workflow)).all() == []  # no draft left behind


def test_clixen_deploy_binds_the_projects_only_secret_of_the_type(
    cli_env: N8nClient,
    slack_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("xoxb-cli-deploy\n"))
    assert run(capsys, "secret", "set", "SLACK_API", "--type", "slackApi")[0] == 0
    code, out, err = run(capsys, "deploy", str(slack_file))
    assert code == 0, err
    n8n_id = out.strip().rsplit("n8n id ", 1)[-1].rstrip(")")
    [slack] = [n for n in cli_env.get_workflow(n8n_id)["nodes"] if n["name"] == "Post to Slack"]
    assert slack["credentials"]["slackApi"]["name"].endswith("-SLACK_API")
