"""What is known about one workflow without asking anyone (to answer a question in its thread),
for anyone who may see it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from core.deploy.workflows import get_workflow, head_version
from core.graph import text_outline, workflow_graph
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
