"""What an operator sees of Slack traffic: each request counted by surface with its ack timed,
and the request's id on every log line of the run it starts (JSON logs). Signed requests through
the real app; Slack's Web API is the fake; the scripted LLM and the real n8n run the pipeline."""

from __future__ import annotations

import io
import json
import logging
import time

from prometheus_client import REGISTRY

from core.logging import make_formatter
from tests.bot.conftest import SlackSender
from tests.doubles.llm_server import ScriptedLLM
from tests.doubles.slack_api import FakeSlack
from tests.workflows import answer, schedule_workflow


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
