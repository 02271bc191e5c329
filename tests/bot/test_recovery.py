"""Runs resumed by the scheduler after a restart report in Slack like any other run: their own
progress message updates step by step and ends in the summary (real n8n, real Postgres)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.notifier import SlackNotifier
from bot.services import BotServices
from bot.slack_client import SlackClient
from core.kernel.models import PipelineRun
from core.n8n import N8nClient
from core.pipeline import start_run
from core.scheduler.jobs import recover_runs
from core.workspace.projects import default_project
from tests.bot.conftest import TEAM, pipeline_bot_services
from tests.conftest import N8nStack
from tests.core.test_pipeline import answer, schedule_workflow
from tests.doubles.llm_server import ScriptedLLM
from tests.doubles.slack_api import FakeSlack

THREAD = "1700000000.000100"


@pytest.fixture
def services(
    slack: FakeSlack,
    database_url: str,
    session_factory: sessionmaker[Session],
    llm: ScriptedLLM,
    n8n: N8nStack,
    n8n_client: N8nClient,
) -> Iterator[BotServices]:
    with pipeline_bot_services(
        slack, database_url, session_factory, llm, n8n, n8n_client
    ) as bot_services:
        yield bot_services


def _interrupted_run(services: BotServices, *, message_ts: str | None) -> int:
    """A run as a process that died right after starting it leaves it: queued, lease run out."""
    with services.session_factory.begin() as session:
        project_id = default_project(session=session, team_id=TEAM, user_id="U1").id
    run, _ = start_run(
        services.pipeline,
        team_id=TEAM,
        user_id="U1",
        project_id=project_id,
        request="every morning post the news",
        slack_channel_id="C1",
        slack_thread_ts=THREAD,
    )
    with services.session_factory.begin() as session:
        row = session.get(PipelineRun, run.id)
        assert row is not None
        row.slack_message_ts = message_ts
        # Its process died: nobody renewed its claim for an hour.
        row.owner_pid = "deadhost:1"
        row.heartbeat_at = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
        row.lease_until = row.heartbeat_at + dt.timedelta(minutes=2)
    return int(run.id)


def _updates_of(slack: FakeSlack, ts: str) -> list[str]:
    return [json.dumps(c.args) for c in slack.named("chat.update") if c.args.get("ts") == ts]


def test_resumed_run_updates_its_progress_message_and_ends_in_its_summary(
    services: BotServices, slack: FakeSlack, llm: ScriptedLLM
) -> None:
    llm.script(answer(schedule_workflow("Recovered news")))
    run_id = _interrupted_run(services, message_ts="1700000000.000200")
    notifier = SlackNotifier(SlackClient(token="xoxb-test", base_url=slack.url), services)

    result = recover_runs(services=services.pipeline, notifier=notifier, older_than_s=60)

    assert result["recovered"] == [{"run_id": run_id, "state": "succeeded"}]
    updates = _updates_of(slack, "1700000000.000200")
    assert any("Validating" in u for u in updates[:-1])  # progress, step by step
    assert "Recovered news is active (version 1)" in updates[-1]  # then the summary
    # The picture and the restart notice went into the run's thread.
    assert slack.named("files.completeUploadExternal")[0].args["thread_ts"] == THREAD
    notices = [c.args for c in slack.named("chat.postMessage") if "restart" in c.args["text"]]
    assert [n["thread_ts"] for n in notices] == [THREAD]


def test_resumed_run_without_a_progress_message_gets_one(
    services: BotServices, slack: FakeSlack, llm: ScriptedLLM
) -> None:
    llm.script(answer(schedule_workflow("Late news")))
    run_id = _interrupted_run(services, message_ts=None)
    notifier = SlackNotifier(SlackClient(token="xoxb-test", base_url=slack.url), services)

    recover_runs(services=services.pipeline, notifier=notifier, older_than_s=60)

    with services.session_factory() as session:
        run = session.get(PipelineRun, run_id)
        assert run is not None and run.slack_message_ts is not None
        message_ts = run.slack_message_ts
    posted = [c.args for c in slack.named("chat.postMessage") if "Understanding" in c.args["text"]]
    assert [p["thread_ts"] for p in posted] == [THREAD]
    assert "Late news is active (version 1)" in _updates_of(slack, message_ts)[-1]
