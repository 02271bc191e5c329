"""Execution watch → automatic repair, end to end: a workflow deployed through the pipeline fails
when called in the real n8n; the real watch job (as the scheduler fires it) reports the error in
the workflow's thread and repairs it once, within the combined cap — also with two replicas."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from core import pipeline
from core.kernel.models import JobRun, PipelineRun, QuotaUsage, Workflow
from core.n8n import N8nClient, execution_failure
from core.pipeline import MAX_TOTAL_REPAIRS, PipelineServices, RunOutcome, execute_run, start_run
from core.scheduler.jobs import execution_watch_job
from core.scheduler.notify import ExecutionFailed, ReviewRequested, Thread
from core.scheduler.runner import SchedulerContext
from core.usecases import Actor
from core.usecases.reviews import set_review
from tests.builders import delete_deployed, pipeline_services, versions
from tests.conftest import N8nStack
from tests.doubles.llm_server import ScriptedLLM
from tests.scheduler.conftest import (
    TEAM,
    USER,
    Clock,
    RecordingNotifier,
    finish_replica,
    scheduler_env,
    start_replica,
    thread_notices,
)
from tests.workflows import ORDER_CHECK_NODE, THROWS, WORKS, edit_reply, order_hook
from tests.workflows import answer as workflow_answer

CHANNEL, THREAD = "C0ORDERS", "1700000000.000900"
FAILING_NODE = ORDER_CHECK_NODE


def answer(wf: dict[str, Any]) -> dict[str, Any]:
    return workflow_answer(wf, "Checks each incoming order.")


def unknown_node(wf: dict[str, Any]) -> dict[str, Any]:
    """A defect only the LLM can repair (a node type that does not exist)."""
    return {**wf, "nodes": [wf["nodes"][0], {**wf["nodes"][1], "type": "n8n-nodes-base.nope"}]}


@pytest.fixture
def services(
    session_factory: sessionmaker[Session],
    n8n_client: N8nClient,
    llm: ScriptedLLM,
    scheduler_context: SchedulerContext,
) -> Iterator[PipelineServices]:
    """The pipeline services the scheduler process holds (installed in its context)."""
    svc = pipeline_services(session_factory, n8n_client, llm.url)
    scheduler_context.services = svc
    assert isinstance(scheduler_context.clock, Clock)
    scheduler_context.clock.now = dt.datetime.now(dt.UTC)
    yield svc
    delete_deployed(session_factory, n8n_client)


def deploy(
    services: PipelineServices, project_id: int, llm: ScriptedLLM, *replies: dict[str, Any]
) -> RunOutcome:
    """A workflow created through the pipeline from the scripted replies, in a Slack thread."""
    llm.script(*replies)
    run, _ = start_run(
        services,
        team_id=TEAM,
        user_id=USER,
        project_id=project_id,
        request="check each incoming order",
        slack_channel_id=CHANNEL,
        slack_thread_ts=THREAD,
    )
    outcome = execute_run(services, run.id)
    assert outcome.ok and outcome.workflow_id, outcome.message
    return outcome


def fail_in_n8n(services: PipelineServices, workflow_id: int) -> str:
    """Call the head version's webhook with an order it rejects; the failed execution's id."""
    result = pipeline.run_test_call(services, workflow_id=workflow_id, sample={"total": -5})
    assert result.status == "error" and result.node == FAILING_NODE, result
    assert result.execution_id
    return result.execution_id


def watch_tick(context: SchedulerContext) -> None:
    """The next firing of the execution watch, exactly as APScheduler calls it."""
    assert isinstance(context.clock, Clock)
    context.clock.now += dt.timedelta(seconds=context.settings.watch_interval_s)
    execution_watch_job()


def repair_runs(session_factory: sessionmaker[Session]) -> list[PipelineRun]:
    with session_factory() as session:
        return list(
            session.scalars(
                select(PipelineRun).where(PipelineRun.kind == "repair").order_by(PipelineRun.id)
            )
        )


def watch_ticks_ok(session_factory: sessionmaker[Session]) -> list[bool | None]:
    with session_factory() as session:
        return list(session.scalars(select(JobRun.ok).where(JobRun.job == "execution_watch")).all())


def test_the_watch_job_repairs_a_runtime_error_as_v2_and_reports_it_once(
    services: PipelineServices,
    scheduler_context: SchedulerContext,
    notifier: RecordingNotifier,
    llm: ScriptedLLM,
    session_factory: sessionmaker[Session],
    n8n_client: N8nClient,
    project_id: int,
) -> None:
    path = f"orders-{uuid.uuid4().hex[:10]}"
    created = deploy(services, project_id, llm, answer(order_hook(path, THROWS)))
    workflow_id = created.workflow_id or 0
    failed_execution = fail_in_n8n(services, workflow_id)

    llm.script(answer(order_hook(path, WORKS)))
    watch_tick(scheduler_context)

    assert watch_ticks_ok(session_factory) == [True]
    # The repair prompt carried the failing node and n8n's own error message.
    assert len(llm.requests) == 2
    [problem_line] = [
        line for line in llm.requests[1].text.splitlines() if "execution_failed" in line
    ]
    assert FAILING_NODE in problem_line and "order total is negative" in problem_line
    # v2 is a repair deployed to the same n8n workflow, and it now works.
    v1, v2 = versions(session_factory, workflow_id)
    assert (v1.source, v2.source) == ("generate", "repair")
    assert (v1.status, v2.status) == ("superseded", "deployed")
    with session_factory() as session:
        wf = session.get(Workflow, workflow_id)
        assert wf is not None and wf.n8n_workflow_id == created.n8n_workflow_id
        assert wf.head_version == 2
    assert WORKS in str(n8n_client.get_workflow(created.n8n_workflow_id or "")["nodes"])
    assert (
        pipeline.run_test_call(services, workflow_id=workflow_id, sample={"total": 5}).status
        == "success"
    )
    # One message in the workflow's thread: the error, where, and its repair.
    [posted] = notifier.posted
    assert (posted.channel, posted.thread_ts) == (CHANNEL, THREAD)
    assert FAILING_NODE in posted.text and "order total is negative" in posted.text
    assert failed_execution in posted.text and "deployed version 2" in posted.text
    # Beside it, the picture of what ran: the failing node marked with n8n's message.
    assert posted.picture is not None
    assert posted.picture.filename == f"workflow-{workflow_id}-execution-{failed_execution}.png"
    assert f"failed: {FAILING_NODE} (" in posted.picture.alt_text
    assert "order total is negative" in posted.picture.alt_text
    # The repair is a run of its own (`clixen runs` lists it), charged to the creator's quota.
    [repair] = repair_runs(session_factory)
    assert (repair.state, repair.workflow_id, repair.user_id) == ("succeeded", workflow_id, USER)
    assert repair.prompt_tokens + repair.completion_tokens > 0
    with session_factory() as session:
        listed = pipeline.list_runs(session=session, team_id=TEAM)
        assert [r.kind for r in listed] == ["repair", "create"]
        spent = session.scalar(
            select(func.sum(PipelineRun.prompt_tokens + PipelineRun.completion_tokens))
        )
        charged = session.scalar(
            select(QuotaUsage.tokens_used).where(
                QuotaUsage.team_id == TEAM, QuotaUsage.user_id == USER
            )
        )
        assert charged == spent

    # Later ticks: the repaired version's successful run changes nothing, says nothing.
    watch_tick(scheduler_context)
    assert len(llm.requests) == 2 and len(notifier.posted) == 1
    assert len(versions(session_factory, workflow_id)) == 2


def test_a_workflow_that_keeps_failing_is_repaired_up_to_the_cap_then_sent_to_review(
    services: PipelineServices,
    scheduler_context: SchedulerContext,
    notifier: RecordingNotifier,
    llm: ScriptedLLM,
    session_factory: sessionmaker[Session],
    project_id: int,
) -> None:
    path = f"orders-{uuid.uuid4().hex[:10]}"
    # Creation already spends one repair (validation); every fix the model offers still throws.
    created = deploy(
        services,
        project_id,
        llm,
        answer(unknown_node(order_hook(path, THROWS))),
        answer(order_hook(path, THROWS)),
    )
    workflow_id = created.workflow_id or 0
    assert created.repairs == 1
    llm.default = lambda body: answer(order_hook(path, THROWS + f" // fix {len(llm.requests)}"))

    for _ in range(MAX_TOTAL_REPAIRS - 1):
        fail_in_n8n(services, workflow_id)
        watch_tick(scheduler_context)
    assert len(llm.requests) == 2 + (MAX_TOTAL_REPAIRS - 1)
    assert [v.source for v in versions(session_factory, workflow_id)] == [
        "generate",
        "repair",
        "repair",
    ]
    assert all("deployed version" in p.text for p in notifier.posted)
    assert len(notifier.posted) == MAX_TOTAL_REPAIRS - 1

    # The combined cap is spent: the next failure is sent to manual review, without the LLM.
    fail_in_n8n(services, workflow_id)
    watch_tick(scheduler_context)
    assert len(llm.requests) == 2 + (MAX_TOTAL_REPAIRS - 1)
    assert len(versions(session_factory, workflow_id)) == MAX_TOTAL_REPAIRS
    review = notifier.posted[-1]
    assert (review.channel, review.thread_ts) == (CHANNEL, THREAD)
    assert "manual review" in review.text and "order total is negative" in review.text
    last = repair_runs(session_factory)[-1]
    assert (last.state, last.needs_review, last.total_repairs) == ("failed", True, 3)

    # It keeps failing: reported once per version, no more runs, repairs or messages.
    fail_in_n8n(services, workflow_id)
    watch_tick(scheduler_context)
    assert len(notifier.posted) == MAX_TOTAL_REPAIRS
    assert len(repair_runs(session_factory)) == MAX_TOTAL_REPAIRS
    assert len(llm.requests) == 2 + (MAX_TOTAL_REPAIRS - 1)
    assert watch_ticks_ok(session_factory) == [True] * (MAX_TOTAL_REPAIRS + 1)

    # A change the user asks for starts a new budget: the next failure is repaired again.
    llm.script(edit_reply(ORDER_CHECK_NODE, {"jsCode": THROWS + " // edited"}))
    edit, _ = start_run(
        services,
        team_id=TEAM,
        user_id=USER,
        project_id=project_id,
        request="also log the order",
        kind="edit",
        workflow_id=workflow_id,
    )
    assert execute_run(services, edit.id).ok
    fail_in_n8n(services, workflow_id)
    watch_tick(scheduler_context)
    assert "deployed version 5" in notifier.posted[-1].text
    assert [v.source for v in versions(session_factory, workflow_id)][-2:] == ["edit", "repair"]


def test_a_failure_of_a_version_already_replaced_is_not_repaired_again(
    services: PipelineServices,
    llm: ScriptedLLM,
    session_factory: sessionmaker[Session],
    n8n_client: N8nClient,
    project_id: int,
) -> None:
    path = f"orders-{uuid.uuid4().hex[:10]}"
    created = deploy(services, project_id, llm, answer(order_hook(path, THROWS)))
    workflow_id = created.workflow_id or 0
    older = fail_in_n8n(services, workflow_id)
    newer = fail_in_n8n(services, workflow_id)

    def failure(execution_id: str) -> Any:
        found = execution_failure(n8n_client.get_execution(execution_id, include_data=True))
        assert found is not None
        return found

    llm.script(answer(order_hook(path, WORKS)))
    line = pipeline.repair_after_runtime_error(
        services, workflow_id=workflow_id, failure=failure(newer)
    )
    assert line is not None and "deployed version 2" in line
    # The older execution ran v1, which v2 already replaced: no second repair, nothing to say.
    again = pipeline.repair_after_runtime_error(
        services, workflow_id=workflow_id, failure=failure(older)
    )
    assert again is None
    assert len(llm.requests) == 2 and len(versions(session_factory, workflow_id)) == 2


def test_two_replicas_repair_a_runtime_error_once(
    n8n: N8nStack,
    database_url: str,
    services: PipelineServices,
    llm: ScriptedLLM,
    session_factory: sessionmaker[Session],
    project_id: int,
) -> None:
    path = f"orders-{uuid.uuid4().hex[:10]}"
    created = deploy(services, project_id, llm, answer(order_hook(path, THROWS)))
    workflow_id = created.workflow_id or 0
    fail_in_n8n(services, workflow_id)
    llm.script(answer(order_hook(path, WORKS)))
    # Anything asked beyond the script would be a second repair: answer it, and count it.
    llm.default = lambda body: answer(order_hook(path, WORKS + " // second repair"))

    env = scheduler_env(n8n, database_url, OPENAI_BASE_URL=llm.url, OPENAI_API_KEY="test")
    args = ("--jobs", "execution_watch", "--interval", "1", "--duration", "12")
    replicas = [start_replica(env, *args) for _ in range(2)]
    outputs = [finish_replica(p) for p in replicas]
    stdout = "".join(out for out, _ in outputs)

    assert len(llm.requests) == 2  # the creation and exactly one repair
    [notice] = thread_notices(stdout, CHANNEL, THREAD)
    assert FAILING_NODE in notice
    # The CLI's notifier names the picture Slack would show, on the same line.
    assert f"[picture workflow-{workflow_id}-execution-" in notice
    assert stdout.count("deployed version 2") == 1
    assert [v.source for v in versions(session_factory, workflow_id)] == ["generate", "repair"]
    [repair] = repair_runs(session_factory)
    assert repair.state == "succeeded", repair.error
    # Both replicas fired the watch every second (the same ticks); every tick ran once, cleanly.
    assert all("running jobs: execution_watch" in out for out, _ in outputs)
    assert watch_ticks_ok(session_factory) and all(watch_ticks_ok(session_factory))


def test_a_watch_repair_is_operations_on_the_head(
    services: PipelineServices,
    llm: ScriptedLLM,
    session_factory: sessionmaker[Session],
    n8n_client: N8nClient,
    project_id: int,
) -> None:
    """The repair of a deployed workflow asks for operations on its head, like an edit (issue
    19): the prompt is the edit prompt (never the whole workflow asked back, never clipped),
    and a reply of one update_parameters is applied, every other node kept as it was."""
    path = f"orders-{uuid.uuid4().hex[:10]}"
    created = deploy(services, project_id, llm, answer(order_hook(path, THROWS)))
    workflow_id = created.workflow_id or 0
    failed = execution_failure(
        n8n_client.get_execution(fail_in_n8n(services, workflow_id), include_data=True)
    )
    assert failed is not None

    llm.script(edit_reply(ORDER_CHECK_NODE, {"jsCode": WORKS}, "Lets valid orders through."))
    line = pipeline.repair_after_runtime_error(services, workflow_id=workflow_id, failure=failed)
    assert line is not None and "deployed version 2" in line, line
    prompt = llm.requests[-1].text
    assert "Reply with the JSON object of operations" in prompt
    assert "Return the corrected FULL workflow" not in prompt
    v1, v2 = versions(session_factory, workflow_id)
    old = {n["name"]: n for n in v1.json_payload["nodes"]}
    new = {n["name"]: n for n in v2.json_payload["nodes"]}
    assert new[ORDER_CHECK_NODE]["parameters"]["jsCode"] == WORKS
    for name, node in old.items():
        if name != ORDER_CHECK_NODE:
            assert new[name] == node


def test_with_review_before_live_the_watchs_fix_waits_and_its_owners_are_asked(
    services: PipelineServices,
    scheduler_context: SchedulerContext,
    notifier: RecordingNotifier,
    llm: ScriptedLLM,
    session_factory: sessionmaker[Session],
    n8n_client: N8nClient,
    project_id: int,
) -> None:
    path = f"orders-{uuid.uuid4().hex[:10]}"
    created = deploy(services, project_id, llm, answer(order_hook(path, THROWS)))
    workflow_id = created.workflow_id or 0
    set_review(session_factory, actor=Actor(TEAM, USER), project=project_id, on=True)
    fail_in_n8n(services, workflow_id)
    running = n8n_client.get_workflow(created.n8n_workflow_id or "")["nodes"]

    llm.script(answer(order_hook(path, WORKS)))
    watch_tick(scheduler_context)

    assert watch_ticks_ok(session_factory) == [True]
    assert [(v.version, v.source, v.status) for v in versions(session_factory, workflow_id)] == [
        (1, "generate", "deployed"),
        (2, "repair", "awaiting_review"),
    ]
    assert n8n_client.get_workflow(created.n8n_workflow_id or "")["nodes"] == running
    failed = [p for p in notifier.posted if isinstance(p.event, ExecutionFailed)]
    asked = [p.event for p in notifier.posted if isinstance(p.event, ReviewRequested)]
    assert len(failed) == 1 and "waits for a project owner's approval" in failed[0].text
    assert len(asked) == 1 and asked[0].where == Thread(CHANNEL, THREAD)
    assert (asked[0].request.source, asked[0].request.owners) == ("repair", (USER,))
    # The next tick asks nobody again.
    watch_tick(scheduler_context)
    assert len([p for p in notifier.posted if isinstance(p.event, ReviewRequested)]) == 1
