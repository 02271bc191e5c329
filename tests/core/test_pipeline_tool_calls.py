"""The model asks (issue 19, item 3): generation offers `search_nodes` and `get_node_spec`, answers
the calls from the catalog, caps the rounds, charges every round to the quota and the run, and
falls back to today's single call on a server without tool calls. Tool rounds are not repairs.
Real Postgres and n8n; the scripted LLM server at the network edge."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from core.generation.llm import LLMClient
from core.kernel.models import PipelineRun, QuotaUsage
from core.n8n import N8nClient
from core.pipeline import PipelineServices, RunOutcome, execute_run, start_run
from core.pipeline.llm_calls import MAX_TOOL_ROUNDS, NO_MORE_LOOKUPS
from tests.builders import delete_deployed, new_project, pipeline_services
from tests.doubles.llm_server import ScriptedLLM, tool_calls
from tests.workflows import answer, schedule_workflow

TEAM, USER = "T1", "U1"
REQUEST = "every morning post the news to slack"
SLACK = "n8n-nodes-base.slack"


@pytest.fixture
def services(
    session_factory: sessionmaker[Session], n8n_client: N8nClient, llm: ScriptedLLM
) -> Iterator[PipelineServices]:
    yield pipeline_services(session_factory, n8n_client, llm.url)
    delete_deployed(session_factory, n8n_client)


@pytest.fixture
def project_id(session_factory: sessionmaker[Session]) -> int:
    return new_project(session_factory, team_id=TEAM, user_id=USER)


def run(services: PipelineServices, project_id: int) -> RunOutcome:
    created, _ = start_run(
        services, team_id=TEAM, user_id=USER, project_id=project_id, request=REQUEST
    )
    return execute_run(services, created.id)


def _tool_answers(body: dict[str, Any]) -> list[str]:
    return [m["content"] for m in body["messages"] if m.get("role") == "tool"]


def _run_row(session_factory: sessionmaker[Session]) -> PipelineRun:
    with session_factory() as session:
        row = session.scalars(select(PipelineRun).order_by(PipelineRun.id.desc())).first()
        assert row is not None
        return row


def test_search_then_spec_then_the_workflow(
    services: PipelineServices,
    project_id: int,
    llm: ScriptedLLM,
    session_factory: sessionmaker[Session],
) -> None:
    llm.script(
        tool_calls(("search_nodes", {"query": "post a message to slack"})),
        tool_calls(
            ("get_node_spec", {"type": SLACK, "resource": "message", "operation": "post"}),
            ("get_node_spec", {"type": SLACK, "resource": "message", "operation": "sendAndWait"}),
        ),
        answer(schedule_workflow()),
    )
    outcome = run(services, project_id)
    assert outcome.ok, outcome
    assert len(llm.requests) == 3
    first = llm.requests[0].body
    assert {t["function"]["name"] for t in first["tools"]} == {"search_nodes", "get_node_spec"}
    assert "get_node_spec" in first["messages"][1]["content"]  # the first message says so
    found = json.loads(_tool_answers(llm.requests[1].body)[0])
    assert SLACK in [r["type"] for r in found["results"]]
    post, approval = (json.loads(a) for a in _tool_answers(llm.requests[2].body)[1:])
    assert (post["operation"], approval["operation"]) == ("post", "sendAndWait")
    assert "channelId" in post["parameters"] and "slackApi" in post["credentials"]
    row = _run_row(session_factory)
    assert row.total_repairs == 0  # lookups are not repairs
    # Every round is charged: the run's tokens and the day's quota agree, all three calls in.
    with session_factory() as session:
        used = session.scalar(select(func.sum(QuotaUsage.tokens_used)))
    assert row.prompt_tokens + row.completion_tokens == used
    assert row.prompt_tokens > 3 * 1_000


def test_a_server_without_tool_calls_gets_one_plain_call_remembered(
    services: PipelineServices, project_id: int, llm: ScriptedLLM
) -> None:
    llm.tools_supported = False
    llm.script(answer(schedule_workflow()), answer(schedule_workflow()))
    assert run(services, project_id).ok
    # Refused once with tools, asked again without; the next run goes straight without.
    assert [bool(r.body.get("tools")) for r in llm.requests] == [True, False]
    assert run(services, project_id).ok
    assert [bool(r.body.get("tools")) for r in llm.requests] == [True, False, False]
    assert "get_node_spec" not in llm.requests[-1].body["messages"][1]["content"]
    assert isinstance(services.llm, LLMClient) and services.llm.tools_supported is False


def test_a_model_that_keeps_calling_tools_is_capped(
    services: PipelineServices,
    project_id: int,
    llm: ScriptedLLM,
    session_factory: sessionmaker[Session],
) -> None:
    def keeps_asking(body: dict[str, Any]) -> dict[str, Any]:
        if body.get("tool_choice") == "none":
            return answer(schedule_workflow())
        return tool_calls(*[("search_nodes", {"query": f"slack {i}"}) for i in range(3)])

    llm.default = keeps_asking
    outcome = run(services, project_id)
    assert outcome.ok, outcome
    assert len(llm.requests) == MAX_TOOL_ROUNDS + 1
    last = llm.requests[-1].body
    assert last["tool_choice"] == "none"
    assert last["messages"][-1] == {"role": "user", "content": NO_MORE_LOOKUPS}
    # 3 rounds × 3 calls asked, at most 8 answered: the ninth is refused, not searched.
    answers = _tool_answers(last)
    assert len(answers) == 9 and "no more lookups" in answers[-1]
    assert _run_row(session_factory).total_repairs == 0


def test_the_model_gets_an_error_it_can_act_on_for_a_bad_lookup(
    services: PipelineServices, project_id: int, llm: ScriptedLLM
) -> None:
    llm.script(
        tool_calls(
            ("get_node_spec", {"type": SLACK, "operation": "publish"}),
            ("get_node_spec", {"type": "@n8n/n8n-nodes-langchain.toolHttpRequest"}),
            ("get_node_spec", {"type": "n8n-nodes-base.noSuchThing"}),
        ),
        answer(schedule_workflow()),
    )
    assert run(services, project_id).ok
    wrong_op, hidden, unknown = (
        json.loads(a)["error"] for a in _tool_answers(llm.requests[1].body)
    )
    assert "sendAndWait" in wrong_op and "hidden" in hidden and "search_nodes" in unknown
