"""After deploy, a run with a test sample test-runs any workflow on a test copy; a failing test
feeds the repair loop within the same caps, and the repaired version is tested again."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.generation.templates import default_library
from core.kernel.models import RunNowCopyRecord, Secret, Workflow
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
    with session_factory() as s:
        name = s.get(Workflow, outcome.workflow_id).name  # the n8n is shared: only ours count
        assert s.scalars(select(RunNowCopyRecord)).all() == []
    names = [str(w["name"]) for w in n8n_client.list_workflows(limit=250)["data"]]
    assert TEST_PREFIX + name not in names


def test_the_test_copy_runs_the_bound_version_with_this_projects_credential(
    session_factory: sessionmaker[Session], n8n_client: N8nClient, llm: ScriptedLLM
) -> None:
    """The candidate names the secret by name only; n8n alone would resolve that to the first
    credential of the type in the whole instance (another project's): the copy is built from
    the stored version, bound to this project's credential by id."""
    from core.credentials import secrets
    from core.kernel.settings import Settings
    from core.workspace.policy import set_project_policy
    from tests.core.test_run_now_gate import KEY, header_call
    from tests.doubles.http_sink import HttpSink

    services = pipeline_services(
        session_factory,
        n8n_client,
        llm.url,
        settings=Settings(CLIXEN_SECRET_KEY=KEY),
        templates=default_library(),
    )
    theirs = n8n_client.create_credential(
        name="another project's token",
        type="httpHeaderAuth",
        data={"name": "X-Token", "value": "their-secret-value"},
    )
    project_id = new_project(session_factory, team_id=TEAM, user_id=USER)
    with session_factory.begin() as s:
        set_project_policy(
            session=s, project_id=project_id, actor_user_id=USER, allow_hosts=["127.0.0.1"]
        )
        secrets.set_secret(
            session=s,
            project_id=project_id,
            name="API_TOKEN",
            value='{"name": "X-Token", "value": "my-secret-value"}',
            key=KEY,
            actor_user_id=USER,
            credential_type="httpHeaderAuth",
            allowed_hosts=["127.0.0.1"],  # the local sink
        )
    try:
        with HttpSink() as sink:
            llm.script(answer(header_call(sink.url("/status"), {"name": "API_TOKEN"})))
            outcome = run(services, project_id, "every hour call our status page", test_sample={})
            assert outcome.ok, outcome.message
            assert [r.headers.get("x-token") for r in sink.requests] == ["my-secret-value"]
    finally:
        delete_deployed(session_factory, n8n_client)
        n8n_client.delete_credential(str(theirs["id"]))
        with session_factory() as s:
            row = s.scalar(select(Secret).where(Secret.project_id == project_id))
        if row is not None and row.n8n_credential_id:
            n8n_client.delete_credential(row.n8n_credential_id)
