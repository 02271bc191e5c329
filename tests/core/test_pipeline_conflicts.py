"""No silent undo: a repair or an edit built from version N is not deployed when the head moved
past N meanwhile (a rollback, another edit); the user is told in words, and the execution watch
carries on from the new head (real Postgres, real n8n, the scripted LLM server)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from core import pipeline
from core.deploy import rollback_to
from core.kernel.settings import get_settings
from core.n8n import ExecutionFailure, N8nClient, execution_failure
from core.pipeline import PipelineServices, RunOutcome, execute_run, start_run
from core.workspace.projects import Actor
from tests.builders import delete_deployed, new_project, pipeline_services, versions
from tests.doubles.llm_server import ScriptedLLM
from tests.workflows import (
    ORDER_CHECK_NODE,
    THROWS,
    WORKS,
    answer,
    edit_reply,
    label_edit,
    labelled_schedule,
    order_hook,
)

TEAM, USER = "T1", "U1"
ACTOR = Actor(TEAM, USER)


@pytest.fixture
def services(
    session_factory: sessionmaker[Session], n8n_client: N8nClient, llm: ScriptedLLM
) -> Iterator[PipelineServices]:
    yield pipeline_services(session_factory, n8n_client, llm.url)
    delete_deployed(session_factory, n8n_client)


@pytest.fixture
def project_id(session_factory: sessionmaker[Session]) -> int:
    return new_project(session_factory, team_id=TEAM, user_id=USER)


def run(
    services: PipelineServices,
    project_id: int,
    request: str,
    *,
    workflow_id: int | None = None,
) -> RunOutcome:
    created, _ = start_run(
        services,
        team_id=TEAM,
        user_id=USER,
        project_id=project_id,
        request=request,
        kind="edit" if workflow_id else "create",
        workflow_id=workflow_id,
    )
    return execute_run(services, created.id)


def rolls_back_first(
    services: PipelineServices, workflow_id: int, to: int, reply: dict[str, Any]
) -> Any:
    """A scripted LLM reply that, while the model "thinks", has the user roll back to `to`."""

    def respond(body: dict[str, Any]) -> dict[str, Any]:
        rollback_to(
            session_factory=services.session_factory,
            n8n=services.n8n,
            workflow_id=workflow_id,
            version=to,
            actor=ACTOR,
            settings=get_settings(),
        )
        return reply

    return respond


def failed_execution(
    n8n: N8nClient, n8n_id: str, path: str, *, after: str | None, js: str
) -> ExecutionFailure:
    """Call the order hook with a bad order until an execution of the version running `js`
    fails (n8n can serve a call with the previous version while it republishes)."""
    for _ in range(5):
        n8n.call_webhook(path, method="POST", json={"total": -1}, wait_registered_s=10)
        execution = n8n.wait_for_execution(n8n_id, after_id=after, timeout_s=15)
        assert execution is not None
        after = str(execution["id"])
        nodes = execution.get("workflowData", {}).get("nodes", [])
        if any(n.get("parameters", {}).get("jsCode") == js for n in nodes):
            failure = execution_failure(execution)
            assert failure is not None
            return failure
    raise AssertionError(f"no execution of the version running {js!r}")


def test_an_edit_is_not_deployed_over_a_rollback_made_while_it_worked(
    services: PipelineServices,
    project_id: int,
    llm: ScriptedLLM,
    session_factory: sessionmaker[Session],
) -> None:
    llm.script(answer(labelled_schedule("v1")), label_edit("v2"))
    created = run(services, project_id, "label every hour")
    assert created.ok and created.workflow_id, created.message
    wid = created.workflow_id
    assert run(services, project_id, "label it v2", workflow_id=wid).version == 2

    # The user rolls back to v1 (as v3) while the next edit, built from v2, is generating.
    llm.script(rolls_back_first(services, wid, 1, label_edit("v2 edited")))
    outcome = run(services, project_id, "label it v2 edited", workflow_id=wid)

    assert outcome.state == "failed" and not outcome.needs_review
    assert [(v.version, v.source) for v in versions(session_factory, wid)] == [
        (1, "generate"),
        (2, "edit"),
        (3, "rollback"),
    ]
    assert "v3 (a rollback to v1)" in outcome.message
    assert "while I was editing v2" in outcome.message
    assert "did not deploy my change over it" in outcome.message


def test_a_watch_repair_does_not_undo_a_rollback_and_the_watch_starts_over_from_it(
    services: PipelineServices,
    project_id: int,
    llm: ScriptedLLM,
    session_factory: sessionmaker[Session],
    n8n_client: N8nClient,
) -> None:
    path = f"orders-{uuid.uuid4().hex[:8]}"
    llm.script(
        answer(order_hook(path, THROWS)),
        edit_reply(ORDER_CHECK_NODE, {"jsCode": THROWS + " // v2"}),
    )
    created = run(services, project_id, "check each incoming order")
    assert created.ok and created.workflow_id and created.n8n_workflow_id, created.message
    wid, n8n_id = created.workflow_id, created.n8n_workflow_id
    assert run(services, project_id, "check orders again", workflow_id=wid).version == 2
    failure = failed_execution(n8n_client, n8n_id, path, after=None, js=THROWS + " // v2")

    # While the watch's repair of v2 waits for the model, the user rolls back to v1 (as v3).
    llm.script(rolls_back_first(services, wid, 1, answer(order_hook(path, WORKS))))
    line = pipeline.repair_after_runtime_error(services, workflow_id=wid, failure=failure)

    assert line is not None
    assert "v3 (a rollback to v1) was deployed while I was repairing v2" in line
    assert "did not deploy my fix over it" in line
    assert [v.source for v in versions(session_factory, wid)] == ["generate", "edit", "rollback"]
    assert WORKS not in str(n8n_client.get_workflow(n8n_id)["nodes"])

    # The watch starts over from the new head: v3's own failure is repaired from v3.
    again = failed_execution(n8n_client, n8n_id, path, after=failure.execution_id, js=THROWS)
    llm.script(answer(order_hook(path, WORKS)))
    line = pipeline.repair_after_runtime_error(services, workflow_id=wid, failure=again)

    assert line is not None and "deployed version 4" in line, line
    assert THROWS + " // v2" not in llm.requests[-1].text  # built from v3 (= v1), not from v2
    assert [v.source for v in versions(session_factory, wid)][-1] == "repair"
