"""`clixen eval PROMPTS_FILE`: each request through the real pipeline and n8n in a throwaway
project, scored per request and in total, and cleaned up; here against the scripted LLM, so the
command cannot rot."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.kernel.models import Project
from core.n8n import N8nClient
from core.n8n.errors import N8nNotFound
from tests.cli.common import run
from tests.core.test_pipeline import with_unknown_node
from tests.doubles.llm_server import ScriptedLLM, tool_calls
from tests.workflows import answer, schedule_workflow


def test_eval_scores_each_request_and_cleans_up(
    cli_env: N8nClient,
    llm: ScriptedLLM,
    session_factory: sessionmaker[Session],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    prompts = tmp_path / "prompts.txt"
    prompts.write_text(
        "# two everyday requests\nevery morning post the news\n\nevery evening sum up\n"
    )
    llm.script(
        tool_calls(("get_node_spec", {"type": "n8n-nodes-base.slack"})),  # one lookup first
        answer(schedule_workflow("Eval one")),
        answer(with_unknown_node(schedule_workflow("Eval two"))),
        answer(schedule_workflow("Eval two")),
    )
    code, out, err = run(capsys, "eval", str(prompts), "--json", "--watch", "0")
    assert code == 0, err
    result = json.loads(out)
    first, second = result["rows"]
    assert (first["first_reply_valid"], first["deployed"], first["repairs"]) == (True, True, 0)
    assert (second["first_reply_valid"], second["valid_after_repair"]) == (False, True)
    assert second["deployed"] and second["repairs"] == 1 and second["tokens"] > 0
    assert (first["tool_rounds"], second["tool_rounds"]) == (1, 0)  # lookups are not repairs
    totals = result["totals"]
    assert totals["tool_rounds"] == 1
    assert (totals["requests"], totals["first_reply_valid"], totals["deployed"]) == (2, 0.5, 1.0)
    # Nothing left behind: no workflow in n8n, no eval project.
    for row in result["rows"]:
        with pytest.raises(N8nNotFound):
            cli_env.get_workflow(row["n8n_workflow_id"])
    with session_factory() as session:
        names = session.scalars(select(Project.name)).all()
    assert not [n for n in names if n.startswith("eval-")]


def test_eval_table_is_readable(
    cli_env: N8nClient, llm: ScriptedLLM, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prompts = tmp_path / "prompts.json"
    prompts.write_text(json.dumps(["every morning post the news"]))
    llm.script(answer(schedule_workflow("Eval table")))
    code, out, err = run(capsys, "eval", str(prompts), "--watch", "0")
    assert code == 0, err
    assert "| request | 1st ok | valid | active |" in out
    assert "| every morning post the news | yes | yes | yes |" in out
    assert "| total (1) | 100% | 100% | 100% |" in out
