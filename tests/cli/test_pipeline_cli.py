"""`clixen create|answer|edit|runs` end to end: real Postgres + n8n, scripted LLM server."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.kernel.models import PipelineRun, WorkflowVersion
from core.kernel.settings import get_settings
from core.n8n import N8nClient
from tests.builders import pipeline_services
from tests.cli.common import run
from tests.doubles.llm_server import ScriptedLLM
from tests.waiting import wait_until
from tests.workflows import answer, edit_reply, schedule_workflow

REPO = Path(__file__).resolve().parents[2]


def test_create_prints_progress_and_deploys(
    cli_env: N8nClient, llm: ScriptedLLM, capsys: pytest.CaptureFixture[str]
) -> None:
    llm.script(answer(schedule_workflow("CLI news")))
    code, out, err = run(capsys, "create", "every morning post the news", "--watch", "0")
    assert code == 0, err
    assert "generating: Designing the workflow" in out
    assert "deploying: Deploying to n8n" in out
    assert "deployed and active (version 1)" in out

    code, out, _ = run(capsys, "runs")
    assert code == 0 and "succeeded" in out and "every morning post the news" in out
    code, out, _ = run(capsys, "runs", "--state", "failed")
    assert out.strip() == "no runs"


def test_question_exits_3_then_answer_continues_then_edit(
    cli_env: N8nClient,
    llm: ScriptedLLM,
    capsys: pytest.CaptureFixture[str],
    session_factory: sessionmaker[Session],
) -> None:
    llm.script({"question": "Which feed URL?"})
    code, out, _ = run(capsys, "create", "post the feed every morning", "--no-input")
    assert code == 3
    assert "question: Which feed URL?" in out
    run_id = out.split("[run ")[1].split("]")[0]
    assert f'clixen answer {run_id} "your answer"' in out

    llm.script(answer(schedule_workflow("Feed poster")))
    code, out, err = run(capsys, "answer", run_id, "https://example.com/feed.xml", "--no-input")
    assert code == 0, err
    assert "version 1" in out

    llm.script(edit_reply("Shape item", {"options": {}}))
    code, out, err = run(capsys, "edit", "Feed poster", "keep all options", "--watch", "0")
    assert code == 0, err
    with session_factory() as s:
        sources = list(s.scalars(select(WorkflowVersion.source).order_by(WorkflowVersion.id)))
    assert sources == ["generate", "edit"]


def test_failure_exits_1_with_remaining_problems(
    cli_env: N8nClient, llm: ScriptedLLM, capsys: pytest.CaptureFixture[str]
) -> None:
    llm.default = "I cannot do JSON today."
    code, _, err = run(capsys, "create", "every morning post the news", "--watch", "0")
    assert code == 1
    assert "could not build a working workflow" in err and "manual review" in err


def test_without_llm_exits_2_saying_what_to_set(
    cli_env: N8nClient, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "")
    monkeypatch.setenv("OPENAI_BASE_URL", "")
    get_settings.cache_clear()
    code, _, err = run(capsys, "create", "every morning post the news")
    assert code == 2
    assert "OPENAI_API_KEY" in err


def test_killed_create_is_resumed_without_duplicates(
    cli_env: N8nClient,
    llm: ScriptedLLM,
    database_url: str,
    session_factory: sessionmaker[Session],
) -> None:
    """A real `clixen create` process killed mid-run, then recovery in this process."""
    from core.pipeline import resume_incomplete_runs

    llm.delay_s = 30.0  # the child blocks inside its LLM call: kill it there
    llm.script(answer(schedule_workflow("Killed run")))
    env = {**os.environ}
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from cli import main; sys.exit(main())",
            "create",
            "every morning post the news",
        ],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        wait_until(lambda: llm.requests, 30, "the child never called the LLM")
        with session_factory() as s:
            [stuck] = list(s.scalars(select(PipelineRun)))
            assert stuck.state == "generating"
    finally:
        child.kill()
        child.wait()
    with session_factory.begin() as s:  # its lease runs out (nobody renews it any more)
        [stuck] = list(s.scalars(select(PipelineRun)))
        stuck.lease_until = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    llm.delay_s = 0.0
    llm.script(answer(schedule_workflow("Killed run")))
    with N8nClient(cli_env.base_url, get_settings().n8n_api_key or "") as n8n:
        services = pipeline_services(session_factory, n8n, llm.url, settings=get_settings())
        [outcome] = resume_incomplete_runs(services, older_than_s=0)
    assert outcome.ok, outcome.message
    with session_factory() as s:
        assert [v.version for v in s.scalars(select(WorkflowVersion))] == [1]
        run_row = s.get(PipelineRun, outcome.run_id)
        assert run_row is not None
        # The run records the call that completed (the killed call only left its reservation).
        assert run_row.prompt_tokens > 0
        assert json.dumps(run_row.context).count('"version": 1') == 1
