"""`clixen prompt`: the exact generation prompt for a request, without an LLM or n8n — what a user
reads to see why a node was picked, and what benchmarks/retrieval.py measures."""

from __future__ import annotations

import json

import pytest
from sqlalchemy.orm import Session, sessionmaker

from cli.context import CLI_TEAM_ID
from core.kernel.models import Secret
from core.kernel.settings import get_settings
from core.workspace.projects import default_project
from tests.cli.common import run

RSS_TO_SLACK = "every morning post new items of https://blog.example.com/feed.xml to #news"


def test_prompt_json_needs_no_database(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", "")
    get_settings.cache_clear()
    try:
        code, stdout, _ = run(capsys, "prompt", "--json", RSS_TO_SLACK)
    finally:
        get_settings.cache_clear()
    assert code == 0
    result = json.loads(stdout)
    assert [m["role"] for m in result["messages"]] == ["system", "user"]
    assert RSS_TO_SLACK in result["messages"][1]["content"]
    for needed in ("scheduleTrigger", "rssFeedRead", "slack"):
        assert f"n8n-nodes-base.{needed}" in result["node_types"]
    assert all(t in result["messages"][1]["content"] for t in result["node_types"])
    for example in result["examples"]:
        assert isinstance(example["id"], int) and example["name"] and example["node_types"]
    assert 0 < result["tokens"] <= 6_000


def test_prompt_summary_names_the_specs_and_examples(capsys: pytest.CaptureFixture[str]) -> None:
    code, stdout, _ = run(capsys, "prompt", RSS_TO_SLACK)
    assert code == 0
    assert "no LLM was called" in stdout
    assert "n8n-nodes-base.rssFeedRead" in stdout
    assert "Example workflows:" in stdout


def test_prompt_for_a_project_lists_its_secrets(
    monkeypatch: pytest.MonkeyPatch,
    database_url: str,
    session_factory: sessionmaker[Session],
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("CLIXEN_CLI_USER", "prompter")
    get_settings.cache_clear()
    with session_factory.begin() as session:
        project = default_project(session=session, team_id=CLI_TEAM_ID, user_id="cli:prompter")
        name = project.name
        session.add(
            Secret(
                project_id=project.id,
                name="SLACK_BOT",
                ciphertext=b"x",
                credential_type="slackApi",
                created_by="cli:prompter",
            )
        )
    try:
        code, stdout, _ = run(capsys, "prompt", "--json", "--project", name, RSS_TO_SLACK)
    finally:
        get_settings.cache_clear()
    assert code == 0
    user = json.loads(stdout)["messages"][1]["content"]
    assert "SLACK_BOT" in user
