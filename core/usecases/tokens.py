"""API tokens: an owner creates and revokes them (editors list them), and what a caller holding
one may do: read its project's workflows and their versions, and roll a workflow back. A token
acts as its creator, in the token's project only (anything of another project is "not found"),
and never outlives its creator's access there: every call checks the token and the creator's
role again (viewers read, editors roll back)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from core.deploy import rollback_to
from core.deploy.workflows import Page, get_project_workflow, list_versions, list_workflows
from core.kernel.models import ApiToken, WorkflowVersion
from core.kernel.settings import Settings
from core.kernel.vocabulary import Role
from core.n8n import N8nClient
from core.usecases.projects import ProjectRef, project_named
from core.usecases.versions import VersionHistory
from core.workspace import api_tokens
from core.workspace.projects import Actor


@dataclass(frozen=True)
class TokenCaller:
    """Who calls with a token: its creator (`actor`), acting in `project_id` only."""

    project_id: int
    actor: Actor


def _caller(session: Session, token: str, at_least: Role) -> TokenCaller:
    project, row = api_tokens.authenticate(session=session, raw_token=token, at_least=at_least)
    return TokenCaller(project.id, Actor(team_id=project.team_id, user_id=row.created_by))


def token_workflows(
    session_factory: sessionmaker[Session], *, token: str, limit: int, cursor: str | None
) -> Page:
    """One page of the token's project's workflows. Raises InvalidToken, PermissionDenied."""
    with session_factory.begin() as session:
        caller = _caller(session, token, Role.viewer)
        return list_workflows(
            session=session, project_id=caller.project_id, limit=limit, cursor=cursor
        )


def token_versions(
    session_factory: sessionmaker[Session], *, token: str, workflow_id: int
) -> VersionHistory:
    """A workflow of the token's project and every version it has had (NotFound otherwise)."""
    with session_factory.begin() as session:
        caller = _caller(session, token, Role.viewer)
        wf = get_project_workflow(
            session=session, project_id=caller.project_id, workflow_id=workflow_id
        )
        return VersionHistory(wf, list_versions(session=session, workflow_id=wf.id))


def token_rollback_caller(
    session_factory: sessionmaker[Session], *, token: str, workflow_id: int
) -> TokenCaller:
    """Who a rollback of `workflow_id` runs as (editors only; NotFound for a workflow of
    another project): checked before a request body is read, so anonymous callers cost no
    parsing."""
    with session_factory.begin() as session:
        caller = _caller(session, token, Role.editor)
        get_project_workflow(session=session, project_id=caller.project_id, workflow_id=workflow_id)
        return caller


def token_rollback(
    session_factory: sessionmaker[Session],
    *,
    n8n: N8nClient,
    settings: Settings,
    caller: TokenCaller,
    workflow_id: int,
    version: int,
    idempotency_key: str | None,
) -> WorkflowVersion:
    """Redeploy `version` as the workflow's new head; the new version. A repeated key rolls
    back once."""
    return rollback_to(
        session_factory=session_factory,
        n8n=n8n,
        workflow_id=workflow_id,
        version=version,
        actor=caller.actor,
        idempotency_key=f"api:{caller.project_id}:{idempotency_key}" if idempotency_key else None,
        settings=settings,
    )


@dataclass(frozen=True)
class CreatedToken:
    """A new token: its raw value is here only, shown once."""

    id: int
    name: str
    raw: str
    project: str
    read_only: bool


def create_token(
    session_factory: sessionmaker[Session],
    *,
    actor: Actor,
    project: ProjectRef,
    name: str,
    read_only: bool = False,
) -> CreatedToken:
    """A new API token of the project, acting as the actor (owners only); `read_only`: viewer
    rights at most, whatever the actor's role."""
    with session_factory.begin() as session:
        found = project_named(session, actor=actor, name=project, at_least=Role.owner)
        token = api_tokens.create_token(
            session=session,
            project_id=found.id,
            name=name,
            created_by=actor.user_id,
            read_only=read_only,
        )
        return CreatedToken(token.id, token.name, token.raw, found.name, token.read_only)


def tokens(
    session_factory: sessionmaker[Session], *, actor: Actor, project: ProjectRef
) -> tuple[str, list[ApiToken]]:
    """(project name, its tokens newest first, revoked ones included): editors only; never a
    raw value."""
    with session_factory.begin() as session:
        found = project_named(session, actor=actor, name=project, at_least=Role.editor)
        return found.name, api_tokens.list_tokens(session=session, project_id=found.id)


def revoke_token(
    session_factory: sessionmaker[Session], *, actor: Actor, project: ProjectRef, token_id: int
) -> None:
    """Revoke the project's token `token_id` (owners only; NotFound for another project's)."""
    with session_factory.begin() as session:
        found = project_named(session, actor=actor, name=project, at_least=Role.owner)
        api_tokens.revoke(session=session, project_id=found.id, token_id=token_id)
