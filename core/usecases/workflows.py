"""One workflow as an actor handles it outside a run: what is known about it without asking
anyone (to answer a question in its thread), and deploying a workflow JSON the actor brings (an
import: no LLM) as a new workflow or a new version of the one with that name."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from core.deploy import deploy_new_workflow, deploy_version
from core.deploy.workflows import find_workflow, get_workflow, head_version, resolve_workflow
from core.graph import text_outline, workflow_graph
from core.kernel.errors import NotFound
from core.kernel.settings import Settings
from core.kernel.vocabulary import Role, VersionSource
from core.n8n import N8nClient
from core.usecases.projects import project_named
from core.workspace.projects import Actor


@dataclass(frozen=True)
class WorkflowFacts:
    """What is known about a workflow without asking anyone: enough to answer a question."""

    id: int
    name: str
    version: int
    status: str
    description: str | None
    outline: Sequence[str]
    last_execution_status: str | None = None
    last_execution_at: str | None = None  # "YYYY-MM-DD HH:MM UTC"


def workflow_facts(
    session_factory: sessionmaker[Session], *, actor: Actor, workflow_id: int
) -> WorkflowFacts:
    """The workflow's facts (PermissionDenied for anyone who may not see it)."""
    with session_factory.begin() as session:
        wf = get_workflow(
            session=session, workflow_id=workflow_id, team_id=actor.team_id, user_id=actor.user_id
        )
        head = head_version(session=session, workflow_id=wf.id)
        last_at = wf.last_execution_at
        return WorkflowFacts(
            id=wf.id,
            name=wf.name,
            version=wf.head_version,
            status=str(wf.status),
            description=wf.description,
            outline=text_outline(workflow_graph(dict(head.json_payload))) if head else [],
            last_execution_status=wf.last_execution_status,
            last_execution_at=f"{last_at:%Y-%m-%d %H:%M} UTC" if last_at else None,
        )


@dataclass(frozen=True)
class Deployed:
    """A workflow JSON deployed: as version `version` of workflow `workflow_id` (`created`: a
    new workflow), running in n8n as `n8n_workflow_id`."""

    workflow_id: int
    name: str
    project: str
    version: int
    n8n_workflow_id: str | None
    created: bool


def deploy_workflow_json(
    session_factory: sessionmaker[Session],
    *,
    n8n: N8nClient,
    settings: Settings,
    actor: Actor,
    project: str | None,
    name: str,
    payload: dict[str, Any],
    progress: Callable[[str], None] | None = None,
) -> Deployed:
    """Deploy `payload` in the project called `project` (None: the actor's active one, where
    they must be an editor): a new version of the workflow called `name` there, else a new
    workflow (created with its first version or not at all). Raises what a deploy raises."""
    with session_factory.begin() as session:
        found = project_named(session, actor=actor, name=project, at_least=Role.editor)
        project_id, project_name = found.id, found.name
        try:
            existing: int | None = resolve_workflow(
                session=session, project_id=found.id, ref=name
            ).id
        except NotFound:
            existing = None
    if existing is None:
        version = deploy_new_workflow(
            session_factory=session_factory,
            n8n=n8n,
            project_id=project_id,
            name=name,
            json_payload=payload,
            source=VersionSource.imported,
            actor=actor,
            settings=settings,
            progress=progress,
        )
    else:
        version = deploy_version(
            session_factory=session_factory,
            n8n=n8n,
            workflow_id=existing,
            json_payload=payload,
            source=VersionSource.imported,
            actor=actor,
            settings=settings,
            progress=progress,
        )
    with session_factory.begin() as session:
        wf = find_workflow(session=session, workflow_id=version.workflow_id)
        n8n_id = wf.n8n_workflow_id if wf is not None else None
        stored_name = wf.name if wf is not None else name
    return Deployed(
        workflow_id=version.workflow_id,
        name=stored_name,
        project=project_name,
        version=version.version,
        n8n_workflow_id=n8n_id,
        created=existing is None,
    )
