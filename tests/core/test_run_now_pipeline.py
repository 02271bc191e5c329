"""After deploy, a run with a test sample test-runs any workflow on a test copy; a failing test
feeds the repair loop within the same caps, and the repaired version is tested again."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from core.generation.templates import default_library
from core.n8n import N8nClient
from core.pipeline import PipelineServices
from core.run_now import TEST_PREFIX
from tests.builders import delete_deployed, new_project, pipeline_services, versions
from tests.core.test_pipeline import TEAM, USER, run
from tests.core.test_run_now import _chain, _node
from tests.doubles.llm_server import ScriptedLLM
from tests.workflows import answer


@pytest.fixture
def services(
    session_factory: sessionmaker[Session], n8n_client: N8nClient, llm: ScriptedLLM
) -> Iterator[PipelineServices]:
    yield pipeline_services(session_factory, n8n_client, llm.url, templates=default_library())
    delete_deployed(session_factory, n8n_client)


def morning(js: str) -> dict[str, Any]:
    return _chain(
        "Morning weekday",
        _node("Every morning", "scheduleTrigger", 1.2, {"rule": {"interval": [{}]}}, 0),
        _node("Weekday", "code", 2, {"jsCode": js}, 200),
    )


def test_a_failing_schedule_test_is_repaired_and_tested_again(
    services: PipelineServices,
    session_factory: sessionmaker[Session],
    llm: ScriptedLLM,
    n8n_client: N8nClient,
) -> None:
    project_id = new_project(session_factory, team_id=TEAM, user_id=USER)
    # The first version reads a field the schedule's item does not have, and throws on it.
    bad = (
        "if (!$('Every morning').first().json.weekday) throw new Error('no weekday today');\n"
        "return [];"
    )
    good = "return [{json: {day: $json['Day of week']}}];"
    llm.script(answer(morning(bad)), answer(morning(good)))
    outcome = run(services, project_id, "each morning note the weekday", test_sample={})
    assert outcome.ok, outcome.message
    assert len(llm.requests) == 2
    prompt = llm.requests[1].text
    assert "no weekday today" in prompt  # n8n's message
    # and the field check's warning, naming what the schedule's item has
    assert 'outputs no field \\"weekday\\"; it has: timestamp' in prompt
    assert "Day of week" in prompt
    v1, v2 = versions(session_factory, outcome.workflow_id or 0)
    assert (v1.source, v2.source) == ("generate", "repair")
    names = [str(w["name"]) for w in n8n_client.list_workflows(limit=250)["data"]]
    assert not [n for n in names if n.startswith(TEST_PREFIX)]
