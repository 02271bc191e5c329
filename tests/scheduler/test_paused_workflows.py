"""A paused workflow against the real n8n: the execution watch neither reports nor repairs its
failures (resumed, it does again); its runs are listed with the failed node named and the error
in plain words, and a failed run opens with the failed node marked."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.graph import NodeMark
from core.kernel.errors import NotFound, PermissionDenied
from core.kernel.models import TelemetryEvent, WorkflowEvent
from core.kernel.settings import Settings
from core.n8n import ExecutionFailure, N8nClient
from core.pipeline.repair import repair_after_runtime_error
from core.scheduler.watch import watch_executions
from core.usecases import Actor
from core.usecases.lifecycle import pause, resume
from core.usecases.runs import failed_run, runs_of
from tests.builders import new_project
from tests.scheduler.conftest import TEAM, USER, RecordingNotifier, closed_port
from tests.scheduler.test_execution_watch import fail_once, status_poller

OWNER = Actor(TEAM, USER)


class RecordingRepair:
    def __init__(self) -> None:
        self.asked: list[tuple[int, str]] = []

    def __call__(self, *, workflow_id: int, failure: ExecutionFailure) -> str | None:
        self.asked.append((workflow_id, failure.execution_id))
        return "repair started"


def _watch(
    session_factory: sessionmaker[Session],
    n8n_client: N8nClient,
    notifier: RecordingNotifier,
    repair: RecordingRepair,
) -> dict[str, Any]:
    return watch_executions(
        session_factory=session_factory,
        client=n8n_client,
        notifier=notifier,
        repair=repair,
        now=dt.datetime.now(dt.UTC),
    )


def test_a_paused_workflow_is_not_alerted_on_nor_repaired_until_resumed(
    n8n_client: N8nClient,
    session_factory: sessionmaker[Session],
    notifier: RecordingNotifier,
    project_id: int,
    n8n_cleanup: list[str],
) -> None:
    poller = status_poller(n8n_client, session_factory, project_id, n8n_cleanup)
    failed = fail_once(n8n_client, poller)

    paused = pause(session_factory, n8n=n8n_client, actor=OWNER, workflow_id=poller.workflow_id)
    assert paused.changed and paused.status == "inactive"
    assert n8n_client.get_workflow(poller.n8n_id)["active"] is False
    repair = RecordingRepair()
    assert _watch(session_factory, n8n_client, notifier, repair)["failed"] == []
    assert notifier.posted == [] and repair.asked == []
    # A repair already under way when it was paused does nothing either.
    failure = ExecutionFailure(str(failed["id"]), "Fetch status", "refused", "error")
    assert (
        repair_after_runtime_error(
            _no_llm_services(session_factory, n8n_client),
            workflow_id=poller.workflow_id,
            failure=failure,
        )
        is None
    )

    resumed = resume(session_factory, n8n=n8n_client, actor=OWNER, workflow_id=poller.workflow_id)
    assert resumed.changed and resumed.status == "active"
    assert n8n_client.get_workflow(poller.n8n_id)["active"] is True
    # Resumed, the same failure is reported and repaired.
    summary = _watch(session_factory, n8n_client, notifier, repair)
    assert summary["failed"] == [
        {"workflow_id": poller.workflow_id, "execution_id": str(failed["id"])}
    ]
    assert repair.asked == [(poller.workflow_id, str(failed["id"]))]
    assert len(notifier.posted) == 1

    with session_factory() as session:
        kinds = session.scalars(
            select(WorkflowEvent.kind)
            .where(WorkflowEvent.workflow_id == poller.workflow_id)
            .order_by(WorkflowEvent.id)
        ).all()
        told = session.scalars(
            select(TelemetryEvent.type).where(TelemetryEvent.workflow_id == poller.workflow_id)
        ).all()
    assert list(kinds) == ["paused", "resumed"]
    assert {"paused", "resumed"} <= set(told)


def _no_llm_services(session_factory: sessionmaker[Session], n8n_client: N8nClient) -> Any:
    from core.catalog import default_catalog
    from core.generation.llm import LLMClient
    from core.pipeline import PipelineServices

    # An LLM nobody listens on: a paused workflow must be turned away before any call.
    llm = LLMClient(api_key="x", base_url="http://127.0.0.1:9/v1", model="none", max_retries=0)
    return PipelineServices(
        session_factory=session_factory,
        n8n=n8n_client,
        llm=llm,
        catalog=default_catalog(),
        mcp=None,
        templates=None,
        settings=Settings(),
        watch_s=0.0,
    )


def test_runs_list_a_success_and_a_failure_with_the_failed_node_in_plain_words(
    n8n_client: N8nClient,
    session_factory: sessionmaker[Session],
    project_id: int,
    n8n_cleanup: list[str],
) -> None:
    poller = status_poller(n8n_client, session_factory, project_id, n8n_cleanup)
    n8n_client.call_webhook(poller.path, json={"url": f"{n8n_client.base_url}/healthz"})
    ok = n8n_client.wait_for_execution(poller.n8n_id, timeout_s=30)
    assert ok is not None and ok["status"] == "success"
    n8n_client.call_webhook(poller.path, json={"url": f"http://127.0.0.1:{closed_port()}/status"})
    failed = n8n_client.wait_for_execution(poller.n8n_id, after_id=str(ok["id"]), timeout_s=30)
    assert failed is not None and failed["status"] == "error"
    settings = Settings(N8N_URL=n8n_client.base_url)  # type: ignore[call-arg]

    page = runs_of(
        session_factory,
        n8n=n8n_client,
        settings=settings,
        actor=OWNER,
        workflow_id=poller.workflow_id,
    )
    assert [r.execution_id for r in page.runs] == [str(failed["id"]), str(ok["id"])]
    bad, good = page.runs
    assert bad.failed and bad.failed_node == "Fetch status"
    assert bad.error is not None and "could not be reached" in bad.error
    assert not good.failed and good.status == "success" and good.failed_node is None
    assert good.duration_s is not None and good.started_at is not None
    assert bad.url == (f"{n8n_client.base_url}/workflow/{poller.n8n_id}/executions/{failed['id']}")
    # Paged: one a page, the cursor reads the older one.
    first = runs_of(
        session_factory,
        n8n=n8n_client,
        settings=settings,
        actor=OWNER,
        workflow_id=poller.workflow_id,
        limit=1,
    )
    assert [r.execution_id for r in first.runs] == [str(failed["id"])]
    assert first.next_cursor
    second = runs_of(
        session_factory,
        n8n=n8n_client,
        settings=settings,
        actor=OWNER,
        workflow_id=poller.workflow_id,
        limit=1,
        cursor=first.next_cursor,
    )
    assert [r.execution_id for r in second.runs] == [str(ok["id"])]

    opened = failed_run(
        session_factory,
        n8n=n8n_client,
        settings=settings,
        actor=OWNER,
        workflow_id=poller.workflow_id,
        execution_id=str(failed["id"]),
    )
    assert opened.node == "Fetch status" and "could not be reached" in opened.plain
    assert opened.picture.nodes["Fetch status"].mark == NodeMark.failed
    assert opened.picture.nodes["Incoming call"].mark == NodeMark.ran

    # Another workspace's user reads none of it; an execution of another workflow is refused.
    with pytest.raises(PermissionDenied):
        runs_of(
            session_factory,
            n8n=n8n_client,
            settings=settings,
            actor=Actor("T0OTHER", "U0OTHER"),
            workflow_id=poller.workflow_id,
        )
    other = status_poller(n8n_client, session_factory, project_id, n8n_cleanup)
    with pytest.raises(NotFound):
        failed_run(
            session_factory,
            n8n=n8n_client,
            settings=settings,
            actor=OWNER,
            workflow_id=other.workflow_id,
            execution_id=str(failed["id"]),
        )


def test_a_viewer_cannot_pause(
    session_factory: sessionmaker[Session],
    n8n_client: N8nClient,
    project_id: int,
    n8n_cleanup: list[str],
) -> None:
    from core.kernel.vocabulary import Role
    from core.workspace.projects import add_member

    poller = status_poller(n8n_client, session_factory, project_id, n8n_cleanup)
    with session_factory.begin() as session:
        add_member(
            session=session,
            project_id=project_id,
            actor_user_id=USER,
            user_id="U0VIEW",
            role=Role.viewer,
        )
    with pytest.raises(PermissionDenied):
        pause(
            session_factory,
            n8n=n8n_client,
            actor=Actor(TEAM, "U0VIEW"),
            workflow_id=poller.workflow_id,
        )
    assert n8n_client.get_workflow(poller.n8n_id)["active"] is True
    new_project(session_factory, team_id="T0OTHER", user_id="U0OTHER")
    with pytest.raises(PermissionDenied):
        pause(
            session_factory,
            n8n=n8n_client,
            actor=Actor("T0OTHER", "U0OTHER"),
            workflow_id=poller.workflow_id,
        )
