"""Fixtures of the cross-cutting guardrail tests: the bot's (signed Slack requests into the real
server app) and a pipeline whose settings carry CLIXEN_SECRET_KEY."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.catalog import default_catalog
from core.generation.llm import LLMClient
from core.kernel.models import Project, Secret, Workflow
from core.kernel.settings import Settings
from core.n8n import N8nClient
from core.pipeline import PipelineServices
from core.workspace.projects import create_project
from tests.bot.conftest import bot, full_bot, n8n_client  # noqa: F401 (fixtures used here)
from tests.doubles.llm_server import ScriptedLLM

TEAM, USER = "T0TEAM", "U1"
SECRET_KEY = "e2e-secret-key-0123456789abcdef"


def e2e_settings(**extra: str) -> Settings:
    values = {"CLIXEN_ENV": "test", "CLIXEN_SECRET_KEY": SECRET_KEY, **extra}
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def services(
    session_factory: sessionmaker[Session],
    n8n_client: N8nClient,  # noqa: F811 (the bot's fixture, imported above)
    llm: ScriptedLLM,
) -> Iterator[PipelineServices]:
    svc = PipelineServices(
        session_factory=session_factory,
        n8n=n8n_client,
        llm=LLMClient(api_key="test", base_url=llm.url, model="scripted", max_retries=0),
        catalog=default_catalog(),
        mcp=None,
        templates=None,
        settings=e2e_settings(),
        watch_s=0.0,
    )
    yield svc
    cleanup_n8n(session_factory, n8n_client)


def cleanup_n8n(session_factory: sessionmaker[Session], client: N8nClient) -> None:
    """Delete every workflow, then every credential, the test left in n8n."""
    with session_factory() as session:
        workflow_ids = [i for i in session.scalars(select(Workflow.n8n_workflow_id)) if i]
        credential_ids = [i for i in session.scalars(select(Secret.n8n_credential_id)) if i]
    for n8n_id in workflow_ids:
        client.delete_workflow(n8n_id)
    for cid in credential_ids:
        client.delete_credential(cid)


@pytest.fixture
def project_id(session_factory: sessionmaker[Session]) -> int:
    with session_factory.begin() as session:
        project: Project = create_project(
            session=session, team_id=TEAM, name="main", creator_user_id=USER
        )
        session.flush()
        return project.id
