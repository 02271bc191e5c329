"""What an operator sees of Slack traffic: each request counted by surface with its ack timed,
and the request's id on every log line of the run it starts (JSON logs). Signed requests through
the real app; Slack's Web API is the fake; the scripted LLM and the real n8n run the pipeline."""

from __future__ import annotations

import io
import json
import logging
import threading
import time
from collections.abc import Iterator

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.services import BotServices
from core.kernel.logging import make_formatter
from core.kernel.models import PipelineRun
from core.n8n import N8nClient
from core.observability.readiness import ReadinessProbe, n8n_check
from tests.bot.conftest import SlackSender, bot_settings, make_sender, pipeline_bot_services
from tests.conftest import N8nStack
from tests.doubles.llm_server import ScriptedLLM
from tests.doubles.slack_api import FakeSlack
from tests.workflows import answer, schedule_workflow


@pytest.fixture
def bot_services(
    slack: FakeSlack, database_url: str, session_factory: sessionmaker[Session]
) -> Iterator[BotServices]:
    services = BotServices(
        settings=bot_settings(slack, database_url), session_factory=session_factory, run_workers=1
    )
    yield services
    services.shutdown(wait=True)


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_slack_requests_are_counted_by_surface_with_their_ack_timed(
    bot: SlackSender, slack: FakeSlack
) -> None:
    commands = sample("clixen_slack_requests_total", surface="slash_command")
    acks = sample("clixen_slack_ack_seconds_count", surface="slash_command")
    refused = sample("clixen_slack_requests_total", surface="refused")
    assert bot.command("help").status_code == 200
    assert bot.command("help", signature="v0=" + "0" * 64).status_code == 401
    slack.wait_for("respond")
    assert sample("clixen_slack_requests_total", surface="slash_command") - commands == 1
    assert sample("clixen_slack_ack_seconds_count", surface="slash_command") - acks == 1
    assert sample("clixen_slack_requests_total", surface="refused") - refused == 1


def test_a_run_started_from_slack_logs_with_the_request_id(
    full_bot: SlackSender, slack: FakeSlack, llm: ScriptedLLM
) -> None:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(make_formatter("json"))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        llm.script(answer(schedule_workflow()))
        assert full_bot.command("create post the news", trigger_id="trig-ops-42").status_code == 200
        deadline = time.monotonic() + 60
        while "stopped succeeded" not in out.getvalue():
            assert time.monotonic() < deadline, out.getvalue()
            time.sleep(0.1)
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    [done] = [line for line in lines if "stopped succeeded" in line["message"]]
    assert done["slack_request"] == "trig-ops-42"
    assert done["team"] == "T0TEAM" and isinstance(done["run_id"], int)
    assert isinstance(done["workflow_id"], int) and isinstance(done["project"], int)


def test_work_waiting_for_a_run_worker_is_counted_until_a_worker_takes_it(
    bot_services: BotServices,
) -> None:
    waiting = "clixen_runs_waiting_for_worker"
    base = sample(waiting)
    release = threading.Event()
    first = bot_services.submit(release.wait, 30)
    second = bot_services.submit(lambda: "done")
    assert sample(waiting) - base == 1  # the second waits: the only worker holds the first
    release.set()
    assert first.result(30) and second.result(30) == "done"
    assert sample(waiting) == base


def test_a_replica_that_is_not_ready_tells_the_user_and_starts_nothing(
    slack: FakeSlack,
    database_url: str,
    session_factory: sessionmaker[Session],
    llm: ScriptedLLM,
    n8n: N8nStack,
    n8n_client: N8nClient,
) -> None:
    with pipeline_bot_services(
        slack, database_url, session_factory, llm, n8n, n8n_client
    ) as services:
        services.pipeline.readiness = ReadinessProbe(
            {"n8n": n8n_check(n8n.url, "not-the-key")}, ttl_s=0
        )
        for sender in make_sender(services.settings, services, slack):
            assert sender.command("create every morning post the news").status_code == 200
            reply = json.dumps(slack.wait_for("respond")[0].args)
    assert "cannot start new requests right now: n8n is not available" in reply
    assert "not-the-key" not in reply and n8n.url not in reply
    assert llm.requests == [] and slack.named("chat.postMessage") == []
    with session_factory() as session:
        assert session.scalar(select(func.count(PipelineRun.id))) == 0
