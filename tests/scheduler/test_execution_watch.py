"""The execution watch against the real n8n: a runtime error is reported in the workflow's thread
once; later executions update the workflow's last status."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy.orm import Session, sessionmaker

from core.models import Workflow
from core.n8n import N8nClient
from core.scheduler.watch import watch_executions
from tests.scheduler.conftest import RecordingNotifier, closed_port, record_running_workflow
from tests.workflows import webhook_workflow


def test_watch_reports_a_runtime_error_once_and_tracks_the_latest_status(
    n8n_client: N8nClient,
    session_factory: sessionmaker[Session],
    notifier: RecordingNotifier,
    project_id: int,
    n8n_cleanup: list[str],
) -> None:
    path = f"watch-{uuid.uuid4().hex[:10]}"
    # The HTTP node fails when the body says so (its URL comes from the call), else succeeds.
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
        channel="C0WATCH",
        thread="1700000000.000300",
    )

    def watch() -> dict:
        return watch_executions(
            session_factory=session_factory,
            client=n8n_client,
            notifier=notifier,
            repair=None,
            now=dt.datetime.now(dt.UTC),
        )

    bad_url = f"http://127.0.0.1:{closed_port()}/status"
    n8n_client.call_webhook(path, json={"url": bad_url})
    failed = n8n_client.wait_for_execution(n8n_id, timeout_s=30)
    assert failed is not None and failed["status"] == "error"

    first = watch()
    assert first["failed"] == [{"workflow_id": workflow_id, "execution_id": str(failed["id"])}]
    [posted] = notifier.posted
    assert (posted.channel, posted.thread_ts) == ("C0WATCH", "1700000000.000300")
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
