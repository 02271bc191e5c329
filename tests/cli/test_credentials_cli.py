"""`clixen create` that needs a credential: it stops waiting, prints the exact `clixen secret set`
command and exits 4; running that command stores the secret, resumes the run and deploys it with
the credential bound. Real Postgres + n8n, scripted LLM server."""

from __future__ import annotations

import io
import sys

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.kernel.models import PipelineRun, Secret, Workflow
from core.kernel.vocabulary import RunState
from core.n8n import N8nClient
from tests.cli.common import run
from tests.core.test_credentials import rss_to_slack
from tests.doubles.llm_server import ScriptedLLM
from tests.workflows import answer


def test_create_waits_for_the_credential_and_secret_set_resumes_it(
    cli_env: N8nClient,
    llm: ScriptedLLM,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    session_factory: sessionmaker[Session],
) -> None:
    llm.script(answer(rss_to_slack()))
    code, out, err = run(capsys, "create", "post new RSS items to #news", "--watch", "0")
    assert code == 4, (out, err)
    assert "Post to Slack needs a slackApi credential" in out
    assert "Post to Slack: clixen secret set SLACK_API --type slackApi" in out
    with session_factory() as s:
        [waiting] = s.scalars(select(PipelineRun)).all()
        assert waiting.state == RunState.awaiting_credentials and waiting.workflow_id is None

    monkeypatch.setattr(sys, "stdin", io.StringIO("xoxb-cli-token\n"))
    code, out, err = run(capsys, "secret", "set", "SLACK_API", "--type", "slackApi")
    assert code == 0, (out, err)
    assert "Secret SLACK_API saved (encrypted)" in out
    assert f"[run {waiting.id}] resumed:" in out and "deployed and active" in out
    assert "xoxb-cli-token" not in out + err
    assert len(llm.requests) == 1
    with session_factory() as s:
        run_row = s.get(PipelineRun, waiting.id)
        secret = s.scalars(select(Secret)).one()
        assert run_row is not None and run_row.state == RunState.succeeded
        workflow = s.get(Workflow, run_row.workflow_id)
        assert workflow is not None
        n8n_id = workflow.n8n_workflow_id
    deployed = cli_env.get_workflow(str(n8n_id))
    [slack] = [n for n in deployed["nodes"] if n["name"] == "Post to Slack"]
    assert slack["credentials"]["slackApi"]["id"] == secret.n8n_credential_id
