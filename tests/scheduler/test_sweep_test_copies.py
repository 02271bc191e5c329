"""What a killed process left in n8n — test copies, credentials of half-finished connects — is
deleted by the scheduled sweep."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session, sessionmaker

from core.connect.links import LINK_TTL
from core.kernel.models import ConnectRequest
from core.kernel.settings import Settings
from core.n8n import N8nClient
from core.run_now import TEST_PREFIX, build_test_copy, sweep
from core.scheduler import TEST_COPY_SWEEP
from core.scheduler.jobs import sweep_test_copies_job
from core.scheduler.runner import SchedulerContext, default_jobs, job_schedules
from core.workspace.projects import create_project
from tests.conftest import N8nStack
from tests.core.test_run_now import schedule_http_code


def test_the_sweep_job_deletes_a_left_over_test_copy(
    scheduler_context: SchedulerContext,
    session_factory: sessionmaker[Session],
    n8n: N8nStack,
    n8n_client: N8nClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = Settings(
        DATABASE_URL=scheduler_context.settings.database_url,
        N8N_URL=n8n.url,
        N8N_API_KEY=n8n.api_key,
    )
    assert TEST_COPY_SWEEP in default_jobs(settings)
    scheduler_context.settings = settings
    scheduler_context.schedules = job_schedules(settings)
    wf = schedule_http_code("https://example.com", "return $input.all();")
    left = build_test_copy(wf)
    record = sweep.record_copy(session_factory, project_id=None, path=left.path)
    copy_id = str(n8n_client.create_workflow(left.workflow)["id"])
    sweep.record_created(session_factory, record, copy_id)
    n8n_client.activate(copy_id)  # the process dies here: no finally ran
    try:
        monkeypatch.setattr(sweep, "SWEEP_AGE_MINUTES", 0)
        sweep_test_copies_job()
        names = [str(w["name"]) for w in n8n_client.list_workflows(limit=250)["data"]]
        assert TEST_PREFIX + wf["name"] not in names
    finally:
        n8n_client.delete_workflow(copy_id)


def test_the_sweep_job_deletes_a_credential_a_half_finished_connect_left(
    scheduler_context: SchedulerContext,
    session_factory: sessionmaker[Session],
    n8n: N8nStack,
    n8n_client: N8nClient,
) -> None:
    """The process died between writing a connect link's n8n credential and recording it: once
    the link could no longer complete, the sweep deletes it (it holds the OAuth client secret)."""
    settings = Settings(
        DATABASE_URL=scheduler_context.settings.database_url,
        N8N_URL=n8n.url,
        N8N_API_KEY=n8n.api_key,
    )
    scheduler_context.settings = settings
    scheduler_context.schedules = job_schedules(settings)
    now = dt.datetime.now(dt.UTC)
    with session_factory.begin() as s:
        pid = create_project(session=s, team_id="T1", name="main", creator_user_id="U1").id
        s.add(
            ConnectRequest(
                state_hash="c" * 64, team_id="T1", user_id="U1", project_id=pid,
                service="gmail", credential_type="gmailOAuth2", expires_at=now,
                opened_at=now - dt.timedelta(seconds=5),
            )
        )  # fmt: skip
    left = str(
        n8n_client.create_credential(
            name=f"clixen-p{pid}-GMAIL",
            type="gmailOAuth2",
            data={"clientId": "id", "clientSecret": "client-secret"},
        )["id"]
    )
    try:
        scheduler_context.clock = lambda: now + LINK_TTL + dt.timedelta(minutes=1)
        sweep_test_copies_job()
        assert left not in {str(c.get("id")) for c in n8n_client.iter_credentials()}
    finally:
        n8n_client.delete_credential(left)
