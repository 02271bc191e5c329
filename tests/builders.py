"""What tests and benchmarks set up again and again: a project, the pipeline's services on the
scripted LLM, and the removal of what a test deployed to the real n8n."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from core.catalog import default_catalog
from core.generation.llm import LLMClient
from core.generation.templates import TemplateLibrary
from core.kernel.models import QuotaUsage, Workflow, WorkflowVersion
from core.kernel.settings import Settings
from core.n8n import N8nClient
from core.pipeline import PipelineServices
from core.validation.mcp import McpValidator
from core.workspace.projects import create_project
from core.workspace.quotas import lock_user_day, utc_day


def new_project(
    session_factory: sessionmaker[Session],
    *,
    team_id: str,
    user_id: str,
    name: str = "main",
    daily_deploy_limit: int | None = None,
    daily_token_limit: int | None = None,
) -> int:
    """A project `user_id` owns in `team_id` (optional per-project daily limits); its id."""
    with session_factory.begin() as session:
        project = create_project(
            session=session, team_id=team_id, name=name, creator_user_id=user_id
        )
        if daily_deploy_limit is not None:
            project.daily_deploy_limit = daily_deploy_limit
        if daily_token_limit is not None:
            project.daily_token_limit = daily_token_limit
        session.flush()
        return project.id


def pipeline_services(
    session_factory: sessionmaker[Session],
    n8n: N8nClient,
    llm_url: str,
    *,
    settings: Settings | None = None,
    templates: TemplateLibrary | None = None,
    mcp: McpValidator | None = None,
) -> PipelineServices:
    """The pipeline on the scripted LLM at `llm_url` (no retries), our validator (and n8n-mcp
    when `mcp` is given), no post-deploy watch (`watch_s=0`)."""
    return PipelineServices(
        session_factory=session_factory,
        n8n=n8n,
        llm=LLMClient(api_key="test", base_url=llm_url, model="scripted", max_retries=0),
        catalog=default_catalog(),
        mcp=mcp,
        templates=templates,
        settings=settings or Settings(),
        watch_s=0.0,
    )


def delete_deployed(session_factory: sessionmaker[Session], n8n: N8nClient) -> None:
    """Delete from n8n every workflow the database's records point at."""
    with session_factory() as session:
        ids = [i for i in session.scalars(select(Workflow.n8n_workflow_id)) if i]
    for n8n_id in ids:
        n8n.delete_workflow(str(n8n_id))


def versions(session_factory: sessionmaker[Session], workflow_id: int) -> list[WorkflowVersion]:
    """The workflow's stored versions, oldest first."""
    with session_factory() as session:
        return list(
            session.scalars(
                select(WorkflowVersion)
                .where(WorkflowVersion.workflow_id == workflow_id)
                .order_by(WorkflowVersion.version)
            )
        )


def spend_tokens(session: Session, *, team_id: str, user_id: str, tokens: int) -> None:
    """Count `tokens` as used today by the user, as if other work of theirs had spent them."""
    lock_user_day(session=session, team_id=team_id, user_id=user_id)
    session.execute(
        update(QuotaUsage)
        .where(
            QuotaUsage.team_id == team_id,
            QuotaUsage.user_id == user_id,
            QuotaUsage.day == utc_day(),
        )
        .values(tokens_used=QuotaUsage.tokens_used + tokens)
    )
