"""Which run or workflow a chat thread belongs to, and where a run's progress message is."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from core.conversation.threads import (
    ThreadTarget,
    find_run_thread,
    find_thread_target,
    set_run_message,
)
from core.deploy import create_workflow_record
from core.kernel.models import PipelineRun
from core.workspace.projects import create_project

T, C, TS = "T1", "C1", "1700000000.000100"


def _run(
    session: Session,
    project_id: int,
    *,
    state: str = "succeeded",
    team_id: str = T,
    workflow_id: int | None = None,
) -> int:
    run = PipelineRun(
        project_id=project_id,
        team_id=team_id,
        user_id="U1",
        kind="create",
        request="every morning post the news",
        state=state,
        workflow_id=workflow_id,
        slack_channel_id=C,
        slack_thread_ts=TS,
    )
    session.add(run)
    session.flush()
    return run.id


def test_a_waiting_question_wins_over_the_thread_workflow(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory.begin() as s:
        p = create_project(session=s, team_id=T, name="p", creator_user_id="U1")
        wf = create_workflow_record(session=s, project_id=p.id, name="news", created_by="U1")
        wf.slack_channel_id, wf.slack_thread_ts = C, TS
        wf_id = wf.id
    with session_factory.begin() as s:
        target = find_thread_target(session=s, team_id=T, channel_id=C, thread_ts=TS)
        assert target == ThreadTarget("edit", wf_id)
        waiting = _run(s, p.id, state="awaiting_input")
        target = find_thread_target(session=s, team_id=T, channel_id=C, thread_ts=TS)
        assert target == ThreadTarget("answer", waiting)
        kind, ident = target  # listeners unpack it as a pair
        assert (kind, ident) == ("answer", waiting)


def test_a_runs_workflow_counts_when_the_workflow_was_made_elsewhere(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory.begin() as s:
        p = create_project(session=s, team_id=T, name="p", creator_user_id="U1")
        wf_id = create_workflow_record(session=s, project_id=p.id, name="n", created_by="U1").id
        _run(s, p.id, workflow_id=wf_id)
    with session_factory() as s:
        assert find_thread_target(session=s, team_id=T, channel_id=C, thread_ts=TS) == (
            ThreadTarget("edit", wf_id)
        )
        # Another workspace's runs in a same-named channel and thread are not this one's.
        assert find_thread_target(session=s, team_id="T2", channel_id=C, thread_ts=TS) is None
        assert find_thread_target(session=s, team_id=T, channel_id=C, thread_ts="other") is None


def test_run_thread_and_its_progress_message(session_factory: sessionmaker[Session]) -> None:
    with session_factory.begin() as s:
        p = create_project(session=s, team_id=T, name="p", creator_user_id="U1")
        run_id = _run(s, p.id, state="generating")
    with session_factory.begin() as s:
        run = find_run_thread(session=s, run_id=run_id)
        assert run is not None
        assert (run.channel_id, run.thread_ts, run.message_ts) == (C, TS, None)
        assert set_run_message(session=s, run_id=run_id, message_ts="1700000000.000200")
        assert not set_run_message(session=s, run_id=run_id + 1, message_ts="x")
        assert find_run_thread(session=s, run_id=run_id + 1) is None
    with session_factory() as s:
        run = find_run_thread(session=s, run_id=run_id)
        assert run is not None and run.message_ts == "1700000000.000200"
