"""GET /metrics after real work: a scripted create with a repair, deployed to the real n8n, moves
the run, step, LLM, n8n and repair counters; the exposition parses with prometheus_client's own
parser. The LLM is the scripted server; Postgres and n8n are real."""

from __future__ import annotations

import copy
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.testclient import TestClient

from api.operations import operation_routes
from core.graph import layout_workflow, render_png
from core.kernel.settings import Settings
from core.n8n import N8nClient, N8nConnectionError, N8nUnauthorized
from core.pipeline import PipelineServices, execute_run, start_run
from core.scheduler.locks import run_once_per_tick
from tests.builders import delete_deployed, new_project, pipeline_services
from tests.conftest import N8nStack
from tests.doubles.llm_server import ScriptedLLM
from tests.workflows import answer, schedule_workflow

TEAM, USER = "T1", "U1"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(http: TestClient) -> Samples:
    """Every sample of one GET /metrics, parsed by prometheus_client's own parser."""
    response = http.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for s in family.samples:
            samples[(s.name, frozenset(s.labels.items()))] = s.value
    return samples


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    key = (name, frozenset(labels.items()))
    return after.get(key, 0.0) - before.get(key, 0.0)


@pytest.fixture
def metrics_http() -> Iterator[TestClient]:
    settings = Settings(_env_file=None, CLIXEN_METRICS="public")  # type: ignore[call-arg]
    app = Starlette(routes=operation_routes(settings=settings, readiness=None))
    with TestClient(app) as http:
        yield http


@pytest.fixture
def services(
    session_factory: sessionmaker[Session], n8n_client: N8nClient, llm: ScriptedLLM
) -> Iterator[PipelineServices]:
    yield pipeline_services(session_factory, n8n_client, llm.url)
    delete_deployed(session_factory, n8n_client)


def with_unknown_node(wf: dict[str, Any]) -> dict[str, Any]:
    bad = copy.deepcopy(wf)
    bad["nodes"][1]["type"] = "n8n-nodes-base.totallyMadeUpNode"
    return bad


def test_a_create_with_a_repair_moves_the_counters(
    metrics_http: TestClient,
    services: PipelineServices,
    session_factory: sessionmaker[Session],
    llm: ScriptedLLM,
) -> None:
    project_id = new_project(session_factory, team_id=TEAM, user_id=USER)
    llm.script(answer(with_unknown_node(schedule_workflow())), answer(schedule_workflow()))
    before = scrape(metrics_http)

    created, _ = start_run(
        services, team_id=TEAM, user_id=USER, project_id=project_id, request="post the news"
    )
    outcome = execute_run(services, created.id)
    assert outcome.ok, outcome.message
    after = scrape(metrics_http)

    assert moved(before, after, "clixen_runs_started_total", kind="create") == 1
    assert moved(before, after, "clixen_runs_finished_total", kind="create", outcome="succeeded")
    assert moved(before, after, "clixen_repairs_total", kind="validation") == 1
    for step in ("generate", "validate", "repair", "deploy", "test_run"):
        assert moved(before, after, "clixen_step_seconds_count", step=step) >= 1, step
    assert moved(before, after, "clixen_step_seconds_count", step="validate") == 2
    assert moved(before, after, "clixen_llm_calls_total", model="scripted") == 2
    assert moved(before, after, "clixen_llm_call_seconds_count", model="scripted") == 2
    assert moved(before, after, "clixen_llm_tokens_total", model="scripted", type="prompt") > 0
    assert moved(before, after, "clixen_llm_tokens_total", model="scripted", type="completion") > 0
    # n8n calls under their route templates: the new workflow's id never becomes a label.
    assert moved(before, after, "clixen_n8n_calls_total", endpoint="POST /api/v1/workflows") == 1
    activate = "POST /api/v1/workflows/{id}/activate"
    assert moved(before, after, "clixen_n8n_calls_total", endpoint=activate) == 1
    assert moved(before, after, "clixen_n8n_call_seconds_count", endpoint=activate) == 1
    assert not any(outcome.n8n_workflow_id in value for _, labels in after for _, value in labels)
    assert after[("clixen_runs_in_progress", frozenset())] == 0


def test_failures_llm_errors_and_quota_refusals_are_counted(
    metrics_http: TestClient,
    services: PipelineServices,
    session_factory: sessionmaker[Session],
    llm: ScriptedLLM,
) -> None:
    project_id = new_project(session_factory, team_id=TEAM, user_id=USER)
    llm.script({"__status__": 500, "body": {"error": {"message": "model crashed"}}})
    before = scrape(metrics_http)
    created, _ = start_run(
        services, team_id=TEAM, user_id=USER, project_id=project_id, request="post the news"
    )
    outcome = execute_run(services, created.id)
    assert outcome.state == "failed"
    after = scrape(metrics_http)
    assert moved(before, after, "clixen_llm_errors_total", model="scripted", error="server") == 1
    assert moved(before, after, "clixen_run_failures_total", category="llm") == 1
    assert moved(before, after, "clixen_runs_finished_total", kind="create", outcome="failed") == 1

    # A project whose daily token limit is spent refuses the next call, and it is counted.
    tight = new_project(
        session_factory, team_id=TEAM, user_id="U2", name="tight", daily_token_limit=10
    )
    created, _ = start_run(
        services, team_id=TEAM, user_id="U2", project_id=tight, request="post the news"
    )
    assert execute_run(services, created.id).state == "failed"
    final = scrape(metrics_http)
    assert moved(after, final, "clixen_quota_refusals_total", quota="tokens") == 1
    assert moved(after, final, "clixen_run_failures_total", category="quota") == 1


def test_n8n_errors_are_counted_by_endpoint_and_kind(
    metrics_http: TestClient, n8n: N8nStack
) -> None:
    endpoint = "GET /api/v1/workflows/{id}"
    before = scrape(metrics_http)
    with (
        N8nClient(n8n.url, "not-the-key", max_retries=0) as refused,
        pytest.raises(N8nUnauthorized),
    ):
        refused.get_workflow("wf-that-is-no-label")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with (
        N8nClient(f"http://127.0.0.1:{port}", "k", max_retries=0) as down,
        pytest.raises(N8nConnectionError),
    ):
        down.get_workflow("wf-that-is-no-label")
    after = scrape(metrics_http)
    assert moved(before, after, "clixen_n8n_calls_total", endpoint=endpoint) == 2
    assert moved(before, after, "clixen_n8n_errors_total", endpoint=endpoint, error="client_error")
    assert moved(before, after, "clixen_n8n_errors_total", endpoint=endpoint, error="connection")
    assert "wf-that-is-no-label" not in metrics_http.get("/metrics").text


def test_scheduler_ticks_and_pictures_are_counted(
    metrics_http: TestClient, session_factory: sessionmaker[Session]
) -> None:
    before = scrape(metrics_http)

    def broken() -> dict[str, Any]:
        raise RuntimeError("the job broke")

    ok = run_once_per_tick(session_factory=session_factory, job="demo", tick="t1", body=dict)
    failed = run_once_per_tick(session_factory=session_factory, job="demo", tick="t2", body=broken)
    assert (ok.ok, failed.ok) == (True, False)
    assert render_png(layout_workflow(schedule_workflow())).startswith(b"\x89PNG")
    after = scrape(metrics_http)
    assert moved(before, after, "clixen_scheduler_job_runs_total", job_name="demo") == 2
    assert moved(before, after, "clixen_scheduler_job_failures_total", job_name="demo") == 1
    assert moved(before, after, "clixen_scheduler_job_seconds_count", job_name="demo") == 2
    assert moved(before, after, "clixen_pictures_rendered_total") == 1
    assert moved(before, after, "clixen_picture_render_seconds_count") == 1
