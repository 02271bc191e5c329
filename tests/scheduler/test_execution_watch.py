"""The execution watch against the real n8n: a runtime error is reported in the workflow's thread
once, with the picture of what the execution did to each node; later executions update the
workflow's last status."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

import core.graph
from bot.notifier import SlackNotifier
from bot.slack_client import SlackClient
from core.kernel.models import Workflow
from core.n8n import N8nClient
from core.scheduler.watch import watch_executions
from tests.doubles.slack_api import FakeSlack
from tests.scheduler.conftest import RecordingNotifier, closed_port, record_running_workflow
from tests.workflows import webhook_workflow

CHANNEL, THREAD = "C0WATCH", "1700000000.000300"


@dataclass(frozen=True)
class StatusPoller:
    workflow_id: int
    n8n_id: str
    path: str


def status_poller(
    n8n_client: N8nClient,
    session_factory: sessionmaker[Session],
    project_id: int,
    n8n_cleanup: list[str],
) -> StatusPoller:
    """A webhook workflow active in n8n, reporting in CHANNEL/THREAD, whose HTTP node "Fetch
    status" fails when the body says so (its URL comes from the call), else succeeds."""
    path = f"watch-{uuid.uuid4().hex[:10]}"
    wf = webhook_workflow(
        path,
        {
            "name": "Fetch status",
            "type": "n8n-nodes-base.httpRequest",
            "typeVersion": 4.2,
            "parameters": {"url": "={{ $json.body.url }}", "options": {}},
        },
    )
    n8n_id = str(n8n_client.create_workflow(wf)["id"])
    n8n_cleanup.append(n8n_id)
    n8n_client.activate(n8n_id)
    workflow_id = record_running_workflow(
        session_factory,
        project_id=project_id,
        n8n_id=n8n_id,
        workflow=wf,
        name="Status *poller*",
        channel=CHANNEL,
        thread=THREAD,
    )
    return StatusPoller(workflow_id, n8n_id, path)


def fail_once(n8n_client: N8nClient, poller: StatusPoller) -> dict[str, Any]:
    """Call the poller with a URL nobody listens on; its failed execution."""
    bad_url = f"http://127.0.0.1:{closed_port()}/status"
    n8n_client.call_webhook(poller.path, json={"url": bad_url})
    failed = n8n_client.wait_for_execution(poller.n8n_id, timeout_s=30)
    assert failed is not None and failed["status"] == "error"
    return failed


def test_watch_reports_a_runtime_error_once_and_tracks_the_latest_status(
    n8n_client: N8nClient,
    session_factory: sessionmaker[Session],
    notifier: RecordingNotifier,
    project_id: int,
    n8n_cleanup: list[str],
) -> None:
    poller = status_poller(n8n_client, session_factory, project_id, n8n_cleanup)
    workflow_id, n8n_id, path = poller.workflow_id, poller.n8n_id, poller.path

    def watch() -> dict[str, Any]:
        return watch_executions(
            session_factory=session_factory,
            client=n8n_client,
            notifier=notifier,
            repair=None,
            now=dt.datetime.now(dt.UTC),
        )

    failed = fail_once(n8n_client, poller)

    first = watch()
    assert first["failed"] == [{"workflow_id": workflow_id, "execution_id": str(failed["id"])}]
    [posted] = notifier.posted
    assert (posted.channel, posted.thread_ts) == (CHANNEL, THREAD)
    assert "Fetch status" in posted.text and "refused the connection" in posted.text
    # The same executions are never reported twice.
    assert watch()["failed"] == []
    assert len(notifier.posted) == 1

    with session_factory() as session:
        wf_row = session.get(Workflow, workflow_id)
        assert wf_row is not None
        assert (wf_row.last_execution_status, wf_row.last_checked_execution_id) == (
            "error",
            str(failed["id"]),
        )

    n8n_client.call_webhook(path, json={"url": f"{n8n_client.base_url}/healthz"})
    ok = n8n_client.wait_for_execution(n8n_id, after_id=str(failed["id"]), timeout_s=30)
    assert ok is not None and ok["status"] == "success"
    assert watch()["failed"] == []
    with session_factory() as session:
        wf_row = session.get(Workflow, workflow_id)
        assert wf_row is not None and wf_row.last_execution_status == "success"
        assert wf_row.last_execution_at is not None
    assert len(notifier.posted) == 1


def test_workflows_deployed_long_ago_are_not_watched(
    n8n_client: N8nClient,
    session_factory: sessionmaker[Session],
    notifier: RecordingNotifier,
    project_id: int,
) -> None:
    record_running_workflow(
        session_factory,
        project_id=project_id,
        n8n_id="not-in-n8n",
        workflow={},
        name="old",
        deployed_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=3),
    )
    summary = watch_executions(
        session_factory=session_factory,
        client=n8n_client,
        notifier=notifier,
        repair=None,
        now=dt.datetime.now(dt.UTC),
        window_h=24,
    )
    assert summary["watched"] == 0 and summary["errors"] == 0


def test_the_failure_message_in_slack_carries_the_picture_marking_the_failing_node(
    n8n_client: N8nClient,
    session_factory: sessionmaker[Session],
    slack: FakeSlack,
    project_id: int,
    n8n_cleanup: list[str],
) -> None:
    poller = status_poller(n8n_client, session_factory, project_id, n8n_cleanup)
    failed = fail_once(n8n_client, poller)
    notifier = SlackNotifier(SlackClient(token="xoxb-test", base_url=slack.url))

    def watch() -> dict[str, Any]:
        return watch_executions(
            session_factory=session_factory,
            client=n8n_client,
            notifier=notifier,
            repair=None,
            now=dt.datetime.now(dt.UTC),
        )

    assert len(watch()["failed"]) == 1
    # The text, then the picture in the same thread.
    [message] = slack.named("chat.postMessage")
    assert (message.args["channel"], message.args["thread_ts"]) == (CHANNEL, THREAD)
    assert "Fetch status" in message.args["text"]
    [asked] = slack.named("files.getUploadURLExternal")
    [done] = slack.named("files.completeUploadExternal")
    assert (done.args["channel_id"], done.args["thread_ts"]) == (CHANNEL, THREAD)
    execution_id = str(failed["id"])
    assert asked.args["filename"] == f"workflow-{poller.workflow_id}-execution-{execution_id}.png"
    [uploaded] = done.args["files"]
    assert uploaded["title"] == f"Status *poller* · execution {execution_id}"
    assert slack.uploads[uploaded["id"]].startswith(b"\x89PNG")
    # What the picture marks, as its alt text says it: the failing node with n8n's message,
    # the node that ran before it.
    alt = asked.args["alt_txt"]
    assert f"execution {execution_id} failed at Fetch status" in alt
    assert "failed: Fetch status (" in alt and "refused the connection" in alt
    assert "ran: Incoming call" in alt

    # Once per failure: the next watch posts and uploads nothing.
    assert watch()["failed"] == []
    assert len(slack.named("chat.postMessage")) == 1
    assert len(slack.named("files.completeUploadExternal")) == 1


def test_a_picture_that_cannot_be_drawn_leaves_the_text_message(
    n8n_client: N8nClient,
    session_factory: sessionmaker[Session],
    slack: FakeSlack,
    project_id: int,
    n8n_cleanup: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    poller = status_poller(n8n_client, session_factory, project_id, n8n_cleanup)
    fail_once(n8n_client, poller)

    def broken(*args: Any, **kwargs: Any) -> bytes:
        raise RuntimeError("no fonts here")

    monkeypatch.setattr(core.graph, "render_png", broken)
    summary = watch_executions(
        session_factory=session_factory,
        client=n8n_client,
        notifier=SlackNotifier(SlackClient(token="xoxb-test", base_url=slack.url)),
        repair=None,
        now=dt.datetime.now(dt.UTC),
    )

    assert len(summary["failed"]) == 1
    [message] = slack.named("chat.postMessage")
    assert message.args["thread_ts"] == THREAD and "Fetch status" in message.args["text"]
    assert slack.named("files.getUploadURLExternal") == []
