"""Log lines of a run: with CLIXEN_LOG_FORMAT=json each line is one JSON object carrying the
run's ids (run_id, workflow_id, project, team); both formats redact secrets in the message,
in `extra=` fields and in tracebacks. Real Postgres and n8n, the scripted LLM."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from core.kernel.log_context import ContextThreadPoolExecutor, bind, bound_fields
from core.kernel.logging import make_formatter
from core.n8n import N8nClient
from core.pipeline import PipelineServices, execute_run, start_run
from tests.builders import delete_deployed, new_project, pipeline_services
from tests.doubles.llm_server import ScriptedLLM
from tests.workflows import answer, schedule_workflow

SLACK_TOKEN = "xoxb-1234567890-abcdefghijkl"
API_KEY = "sk-live-0123456789abcdef"


@pytest.fixture
def captured() -> Iterator[tuple[io.StringIO, logging.Handler]]:
    """The root logger's lines at INFO and above, in a buffer (formatter set by the test)."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield out, handler
    root.removeHandler(handler)
    root.setLevel(old_level)


@pytest.fixture
def services(
    session_factory: sessionmaker[Session], n8n_client: N8nClient, llm: ScriptedLLM
) -> Iterator[PipelineServices]:
    yield pipeline_services(session_factory, n8n_client, llm.url)
    delete_deployed(session_factory, n8n_client)


def test_every_json_line_of_a_run_carries_its_ids(
    captured: tuple[io.StringIO, logging.Handler],
    services: PipelineServices,
    session_factory: sessionmaker[Session],
    llm: ScriptedLLM,
) -> None:
    out, handler = captured
    handler.setFormatter(make_formatter("json"))
    project_id = new_project(session_factory, team_id="T9", user_id="U1")
    llm.script(answer(schedule_workflow()))
    with bind(slack_request="Ev0SLACK1"):
        created, _ = start_run(
            services, team_id="T9", user_id="U1", project_id=project_id, request="news"
        )
        outcome = execute_run(services, created.id)
    assert outcome.ok, outcome.message

    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    of_run = [line for line in lines if line.get("run_id") == created.id]
    assert of_run, lines
    last = of_run[-1]
    assert "stopped succeeded" in last["message"]
    assert (last["project"], last["team"], last["workflow_id"]) == (
        project_id,
        "T9",
        outcome.workflow_id,
    )
    assert last["slack_request"] == "Ev0SLACK1"
    assert {"time", "level", "logger", "message"} <= set(last)
    assert bound_fields() == {}  # nothing stays bound after the run


@pytest.mark.parametrize("log_format", ["json", "text"])
def test_secrets_are_redacted_in_both_formats(
    captured: tuple[io.StringIO, logging.Handler], log_format: str
) -> None:
    out, handler = captured
    handler.setFormatter(make_formatter(log_format))
    log = logging.getLogger("clixen.test")
    with bind(run_id=7):
        log.warning("posting with %s", SLACK_TOKEN, extra={"detail": f"key {API_KEY}"})
        log.info("calling", extra={"api_key": "plain-value-without-pattern"})
        try:
            raise RuntimeError(f"Authorization: Bearer {API_KEY}")
        except RuntimeError:
            log.exception("call failed")
    text = out.getvalue()
    assert SLACK_TOKEN not in text and API_KEY not in text
    assert "plain-value-without-pattern" not in text
    assert text.count("***") >= 3
    if log_format == "json":
        first, second, third = (json.loads(line) for line in text.splitlines() if line[:1] == "{")
        assert first["run_id"] == 7 and first["detail"] == "key ***"
        assert second["api_key"] == "***"
        assert "RuntimeError" in third["exception"]
    else:
        assert "[run_id=7]" in text.splitlines()[0]


def test_bound_fields_follow_work_to_a_pool_thread() -> None:
    with ContextThreadPoolExecutor(1) as pool, bind(slack_request="trig-1", team="T1"):
        seen = pool.submit(lambda: dict(bound_fields())).result()
    assert seen == {"slack_request": "trig-1", "team": "T1"}
