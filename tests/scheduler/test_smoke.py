"""The smoke test against the real n8n: the canonical RSS → Slack workflow, feed and Slack
incoming-webhook served locally (the network edge)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.kernel.models import SmokeResult
from core.n8n import N8nClient, N8nNotFound
from core.scheduler.jobs import smoke_test
from core.scheduler.smoke import RSS_NODE, build_canonical, local_smoke_endpoints
from tests.conftest import REPO, N8nStack
from tests.scheduler.conftest import RecordingNotifier


def _closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/feed.xml"


def test_canonical_fixture_fills_in_urls() -> None:
    wf = build_canonical(
        feed_url="https://feeds.example/rss",
        slack_webhook_url="https://hooks.slack.com/services/T/B/x",
        webhook_path="clixen-smoke-abc",
    )
    params = {n["name"]: n["parameters"] for n in wf["nodes"]}
    assert params[RSS_NODE]["url"] == "https://feeds.example/rss"
    assert params["Post to Slack"]["url"] == "https://hooks.slack.com/services/T/B/x"
    assert params["Run smoke test"]["path"] == "clixen-smoke-abc"
    assert [n["type"] for n in wf["nodes"]] == [
        "n8n-nodes-base.webhook",
        "n8n-nodes-base.rssFeedRead",
        "n8n-nodes-base.httpRequest",
    ]


def test_smoke_passes_and_slack_gets_the_item_titles(
    n8n_client: N8nClient,
    session_factory: sessionmaker[Session],
    notifier: RecordingNotifier,
) -> None:
    titles = ["Kettle prices fall", "Otters learn SQL"]
    with local_smoke_endpoints(titles) as endpoints:
        outcome = smoke_test(
            client=n8n_client,
            session_factory=session_factory,
            notifier=notifier,
            ops_channel="C0OPS",
            feed_url=endpoints.feed_url,
            slack_webhook_url=endpoints.webhook_url,
        )
        bodies = endpoints.bodies()

    assert outcome.ok, outcome.message
    assert len(bodies) == 1
    assert all(t in bodies[0]["text"] for t in titles)
    with session_factory() as session:
        row = session.scalars(select(SmokeResult)).one()
    assert row.ok and row.execution_id == outcome.execution_id and row.fixture_version == "1"
    assert [(p.channel, "passed" in p.text) for p in notifier.posted] == [("C0OPS", True)]
    # The smoke workflow is gone from n8n afterwards.
    assert outcome.n8n_workflow_id
    with pytest.raises(N8nNotFound):
        n8n_client.get_workflow(outcome.n8n_workflow_id)


def test_smoke_fails_with_node_and_message_when_the_feed_is_unreachable(
    n8n_client: N8nClient,
    session_factory: sessionmaker[Session],
    notifier: RecordingNotifier,
) -> None:
    feed_url = _closed_port_url()
    with local_smoke_endpoints() as endpoints:
        outcome = smoke_test(
            client=n8n_client,
            session_factory=session_factory,
            notifier=notifier,
            ops_channel="C0OPS",
            feed_url=feed_url,
            slack_webhook_url=endpoints.webhook_url,
        )
        assert endpoints.bodies() == []

    assert not outcome.ok
    assert outcome.failing_node == RSS_NODE
    assert feed_url in outcome.message  # n8n's own words about the URL it could not reach
    assert outcome.execution_id
    with session_factory() as session:
        row = session.scalars(select(SmokeResult)).one()
    assert (row.ok, row.failing_node, row.message) == (False, RSS_NODE, outcome.message)
    [posted] = notifier.posted
    assert posted.channel == "C0OPS"
    assert "FAILED" in posted.text and RSS_NODE in posted.text and feed_url in posted.text
    with pytest.raises(N8nNotFound):
        n8n_client.get_workflow(outcome.n8n_workflow_id or "")


def _cli_env(n8n: N8nStack, database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLIXEN_", "SLACK_"))}
    env.update(N8N_URL=n8n.url, N8N_API_KEY=n8n.api_key, DATABASE_URL=database_url)
    return env


def test_clixen_smoke_exit_code_gates_on_the_result(
    n8n: N8nStack, database_url: str, session_factory: sessionmaker[Session]
) -> None:
    cmd = [str(Path(sys.executable).parent / "clixen"), "smoke"]
    env = _cli_env(n8n, database_url)
    passed = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "Smoke test passed" in passed.stdout

    failed = subprocess.run(
        [*cmd, "--feed-url", _closed_port_url()],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "Smoke test FAILED" in failed.stdout and RSS_NODE in failed.stdout

    with session_factory() as session:
        assert [r.ok for r in session.scalars(select(SmokeResult).order_by(SmokeResult.id))] == [
            True,
            False,
        ]
