"""A token quota that cannot be overrun: each LLM call reserves its estimate (prompt size +
`max_tokens`) before it is made and is settled to the real use after; every call sends
`max_tokens`; a server that reports no usage is charged the estimate; a user runs at most
`max_concurrent_runs` requests at once (real Postgres, real n8n, the scripted LLM server)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from core.kernel.errors import ClixenError
from core.kernel.models import PipelineRun, Project, QuotaUsage
from core.n8n import N8nClient
from core.pipeline import PipelineServices, RunOutcome, execute_run, start_run
from tests.builders import delete_deployed, new_project, pipeline_services, spend_tokens
from tests.doubles.llm_server import ScriptedLLM
from tests.workflows import answer, schedule_workflow

TEAM, USER = "T1", "U1"
REQUEST = "every morning post the news"


@pytest.fixture
def services(
    session_factory: sessionmaker[Session], n8n_client: N8nClient, llm: ScriptedLLM
) -> Iterator[PipelineServices]:
    yield pipeline_services(session_factory, n8n_client, llm.url)
    delete_deployed(session_factory, n8n_client)


@pytest.fixture
def project_id(session_factory: sessionmaker[Session]) -> int:
    return new_project(session_factory, team_id=TEAM, user_id=USER)


def tokens_used(session_factory: sessionmaker[Session]) -> int:
    with session_factory() as session:
        return int(session.scalar(select(func.coalesce(func.sum(QuotaUsage.tokens_used), 0))))


def set_token_limit(session_factory: sessionmaker[Session], project_id: int, limit: int) -> None:
    with session_factory.begin() as session:
        project = session.get(Project, project_id)
        assert project is not None
        project.daily_token_limit = limit


def run(services: PipelineServices, project_id: int, request: str = REQUEST) -> RunOutcome:
    created, _ = start_run(
        services, team_id=TEAM, user_id=USER, project_id=project_id, request=request
    )
    return execute_run(services, created.id)


def run_together(services: PipelineServices, project_id: int, n: int) -> list[RunOutcome]:
    """`n` runs of the same user started and driven at the same moment, one thread each."""
    barrier = threading.Barrier(n)
    outcomes: list[RunOutcome] = []
    errors: list[BaseException] = []

    def one() -> None:
        try:
            barrier.wait()
            outcomes.append(run(services, project_id))
        except BaseException as e:  # surfaced below
            errors.append(e)

    threads = [threading.Thread(target=one) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    return outcomes


def test_two_concurrent_runs_with_1000_tokens_left_never_spend_past_the_limit(
    services: PipelineServices,
    project_id: int,
    llm: ScriptedLLM,
    session_factory: sessionmaker[Session],
) -> None:
    set_token_limit(session_factory, project_id, 20_000)
    with session_factory.begin() as session:
        spend_tokens(session, team_id=TEAM, user_id=USER, tokens=19_000)
    llm.delay_s = 1.0  # both calls would be in flight together
    llm.default = answer(schedule_workflow())

    outcomes = run_together(services, project_id, 2)

    assert tokens_used(session_factory) <= 20_000
    # A generation prompt alone is larger than what is left: neither call is made.
    assert llm.requests == []
    for outcome in outcomes:
        assert outcome.state == "failed"
        assert "of your 20,000 LLM tokens" in outcome.message and "needs about" in outcome.message


def test_room_for_one_call_lets_exactly_one_of_two_concurrent_runs_call_the_model(
    services: PipelineServices,
    project_id: int,
    llm: ScriptedLLM,
    session_factory: sessionmaker[Session],
) -> None:
    from core.generation.llm import estimate_tokens
    from core.pipeline import MIN_REPLY_TOKENS

    llm.default = answer(schedule_workflow())
    assert run(services, project_id).ok  # the same request once, to size its prompt
    from core.generation.node_lookup.tools import tool_schema_tokens

    # The reservation counts the tool definitions the call offers (issue 19), as sent.
    first = llm.requests[0]
    prompt = estimate_tokens(first.messages) + (
        tool_schema_tokens(first.body["tools"]) if first.body.get("tools") else 0
    )
    limit = tokens_used(session_factory) + prompt + MIN_REPLY_TOKENS + 100
    set_token_limit(session_factory, project_id, limit)
    llm.delay_s = 1.0

    outcomes = run_together(services, project_id, 2)

    assert len(llm.requests) == 2  # the warm-up's call and exactly one of the two
    assert sorted(o.state for o in outcomes) == ["failed", "succeeded"]
    [refused] = [o for o in outcomes if not o.ok]
    assert "LLM tokens" in refused.message
    assert tokens_used(session_factory) <= limit


def test_every_call_sends_max_tokens_and_is_settled_to_the_reported_use(
    services: PipelineServices,
    project_id: int,
    llm: ScriptedLLM,
    session_factory: sessionmaker[Session],
) -> None:
    from core.generation.llm import estimate_tokens

    assert services.llm is not None
    services.llm.max_tokens = 3_000
    llm.script("not json at all", answer(schedule_workflow()))  # two calls: generate, repair

    outcome = run(services, project_id)

    assert outcome.ok, outcome.message
    sent = [r.body.get("max_tokens") for r in llm.requests]
    assert len(sent) == 2 and all(isinstance(m, int) and 0 < m <= 3_000 for m in sent), sent
    reserved = sum(estimate_tokens(r.messages) + r.body["max_tokens"] for r in llm.requests)
    # Charged what the server reported (the run's tokens), not what was reserved.
    assert tokens_used(session_factory) == outcome.tokens
    assert 0 < outcome.tokens < reserved


def test_a_server_that_reports_no_usage_is_charged_the_estimate(
    services: PipelineServices,
    project_id: int,
    llm: ScriptedLLM,
    session_factory: sessionmaker[Session],
) -> None:
    from core.generation.llm import estimate_tokens

    llm.report_usage = False
    llm.script(answer(schedule_workflow()))

    outcome = run(services, project_id)

    assert outcome.ok, outcome.message
    [request] = llm.requests
    assert outcome.tokens >= estimate_tokens(request.messages) > 0
    assert tokens_used(session_factory) == outcome.tokens


def test_a_user_runs_at_most_three_requests_at_once(
    services: PipelineServices,
    project_id: int,
    session_factory: sessionmaker[Session],
) -> None:
    assert services.settings.max_concurrent_runs == 3
    started: list[int] = []
    refused: list[str] = []
    barrier = threading.Barrier(6)

    def start(i: int) -> None:
        barrier.wait()
        try:
            created, _ = start_run(
                services, team_id=TEAM, user_id=USER, project_id=project_id, request=f"job {i}"
            )
            started.append(created.id)
        except ClixenError as e:
            refused.append(str(e))

    threads = [threading.Thread(target=start, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    assert len(started) == 3 and len(refused) == 3
    assert "You already have 3 requests in progress" in refused[0]
    assert "wait for one to finish" in refused[0]
    # A finished run frees a place.
    with session_factory.begin() as session:
        row = session.get(PipelineRun, started[0])
        assert row is not None
        row.state = "failed"
    created, _ = start_run(
        services, team_id=TEAM, user_id=USER, project_id=project_id, request="one more"
    )
    assert created.id


def test_the_scripted_server_never_returns_more_than_max_tokens(llm: ScriptedLLM) -> None:
    """The double behaves like a real server: a completion stops at `max_tokens`."""
    from core.generation.llm import LLMClient

    llm.script("x" * 4_000)
    reply = LLMClient(api_key="k", base_url=llm.url, model="m").chat(
        [{"role": "user", "content": "hi"}], response_format_json=False, max_tokens=100
    )
    assert reply.completion_tokens == 100 and len(reply.text) == 400
