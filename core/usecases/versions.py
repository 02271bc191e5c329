"""A workflow's versions: the history, choosing a version to roll back to (with what would
change), the rollback itself, and the picture of a version (what it changed marked).

Viewers see the history; only editors get the rollback choice and roll back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.deploy import ReviewPending, SayLine, rollback_to
from core.deploy.workflows import (
    find_workflow,
    get_version,
    get_workflow,
    head_version,
    list_versions,
    resolve_workflow,
    version_diff,
)
from core.graph import Layout, diff_marks, layout_workflow
from core.kernel.errors import InvalidInput, NotFound, SettingsError
from core.kernel.models import Workflow, WorkflowEvent, WorkflowVersion
from core.kernel.settings import Settings
from core.kernel.vocabulary import Role, VersionStatus
from core.n8n import N8nClient
from core.n8n.workflow_json import WorkflowDiff
from core.usecases.lifecycle import restore as restore_deleted
from core.usecases.projects import project_named
from core.usecases.reviews import ReviewRow, workflow_reviews
from core.workspace.projects import Actor

ROLLBACK_TARGETS = (VersionStatus.deployed, VersionStatus.superseded)


@dataclass(frozen=True)
class VersionHistory:
    """A workflow and its versions, oldest first (for a rollback choice: only the versions that
    ran, with `diff` from the head to `selected` when one was chosen)."""

    workflow: Workflow
    versions: list[WorkflowVersion]
    selected: int | None = None
    diff: WorkflowDiff | None = None
    # Pause, resume, rename, delete, restore: who did it and when (`versions` only).
    events: list[WorkflowEvent] = field(default_factory=list)
    # Review before live: every request, who asked, who decided, when (`versions` only).
    reviews: list[ReviewRow] = field(default_factory=list)


def find_workflow_id(
    session_factory: sessionmaker[Session],
    *,
    actor: Actor,
    ref: str,
    project: str | int | None = None,
    include_deleted: bool = False,
) -> int:
    """The id of the workflow `ref` (its name or #id) names in the project called `project`
    (None: the actor's active project), which the actor must be a member of. A deleted one
    only with `include_deleted` (its history, a restore); else NotFound says how to restore."""
    with session_factory.begin() as session:
        found = project_named(session, actor=actor, name=project, at_least=Role.viewer)
        return resolve_workflow(
            session=session, project_id=found.id, ref=ref, include_deleted=include_deleted
        ).id


@dataclass(frozen=True)
class StoredVersion:
    """One stored version of a workflow: its JSON and a title naming it ("name · vN")."""

    workflow_id: int
    version: int
    payload: dict[str, Any]
    title: str
    # Its workflow in n8n (None: never deployed, or deleted): the runs that are its own.
    n8n_workflow_id: str | None = None


def stored_version(
    session_factory: sessionmaker[Session],
    *,
    actor: Actor,
    workflow_id: int,
    version: int | None = None,
) -> StoredVersion:
    """Version `version` of the workflow (None: the one running), for anyone who may see it;
    NotFound when it has none."""
    with session_factory.begin() as session:
        wf = get_workflow(
            session=session, workflow_id=workflow_id, team_id=actor.team_id, user_id=actor.user_id
        )
        v = (
            get_version(session=session, workflow_id=wf.id, version=version)
            if version is not None
            else head_version(session=session, workflow_id=wf.id)
        )
        if v is None:
            raise NotFound(f"Workflow #{wf.id} {wf.name!r} has no version yet.")
        n8n_id = wf.n8n_workflow_id if wf.status != "deleted" else None
        title = f"{wf.name} · v{v.version}"
        return StoredVersion(wf.id, v.version, dict(v.json_payload), title, n8n_id)


def version_changes(
    session_factory: sessionmaker[Session],
    *,
    actor: Actor,
    workflow_id: int,
    from_version: int,
    to_version: int,
) -> WorkflowDiff:
    """What changed between two versions of the workflow, for anyone who may see it."""
    with session_factory.begin() as session:
        wf = get_workflow(
            session=session, workflow_id=workflow_id, team_id=actor.team_id, user_id=actor.user_id
        )
        return version_diff(
            session=session, workflow_id=wf.id, from_version=from_version, to_version=to_version
        )


def versions(
    session_factory: sessionmaker[Session], *, actor: Actor, workflow_id: int
) -> VersionHistory:
    """Every version of the workflow, for anyone who may see it."""
    with session_factory.begin() as session:
        wf = get_workflow(
            session=session, workflow_id=workflow_id, team_id=actor.team_id, user_id=actor.user_id
        )
        events = session.scalars(
            select(WorkflowEvent)
            .where(WorkflowEvent.workflow_id == wf.id)
            .order_by(WorkflowEvent.created_at, WorkflowEvent.id)
        )
        return VersionHistory(
            wf,
            list_versions(session=session, workflow_id=wf.id),
            events=list(events),
            reviews=workflow_reviews(session, wf.id),
        )


def rollback_choice(
    session_factory: sessionmaker[Session],
    *,
    actor: Actor,
    workflow_id: int,
    selected: int | None = None,
) -> VersionHistory:
    """The versions an editor may roll back to; with `selected`, what would change from the
    current version. InvalidInput when `selected` is the head or never ran."""
    with session_factory.begin() as session:
        wf = get_workflow(
            session=session,
            workflow_id=workflow_id,
            team_id=actor.team_id,
            user_id=actor.user_id,
            at_least=Role.editor,
        )
        ran = [
            v
            for v in list_versions(session=session, workflow_id=wf.id)
            if v.status in ROLLBACK_TARGETS
        ]
        diff = None
        if selected is not None:
            if not any(v.version == selected for v in ran) or selected == wf.head_version:
                raise InvalidInput(f"v{selected} cannot be rolled back to.")
            diff = version_diff(
                session=session,
                workflow_id=wf.id,
                from_version=wf.head_version,
                to_version=selected,
            )
        return VersionHistory(wf, ran, selected, diff)


@dataclass(frozen=True)
class RolledBack:
    """A rollback done: `version` is running again as the new head `new_version`; `picture`
    shows it, what changed against the version it replaced marked."""

    workflow_id: int
    name: str
    version: int
    new_version: int
    channel: str | None
    thread_ts: str | None
    picture: Layout


@dataclass(frozen=True)
class RollbackWaits:
    """A rollback asked for in a project that reviews versions before they go live: version
    `version`'s workflow is stored as `new_version`, waiting in review `review_id`."""

    workflow_id: int
    name: str
    version: int
    new_version: int
    review_id: int
    channel: str | None
    thread_ts: str | None


def roll_back(
    session_factory: sessionmaker[Session],
    *,
    n8n: N8nClient | None,
    settings: Settings,
    actor: Actor,
    workflow_id: int,
    version: int,
    idempotency_prefix: str | None,
) -> RolledBack | RollbackWaits:
    """Redeploy `version` as the new head (editors only: checked before anything else, so a
    forged request learns nothing more). Asking twice (a double click, a retry) rolls back
    once: the key names the head the actor saw and the target (no prefix: every call is a new
    request, as each CLI command is). SettingsError without n8n.
    With review before live on, nothing changes in n8n: RollbackWaits names the request."""
    with session_factory.begin() as session:
        wf = get_workflow(
            session=session,
            workflow_id=workflow_id,
            team_id=actor.team_id,
            user_id=actor.user_id,
            at_least=Role.editor,
        )
        from_head = wf.head_version
        name, channel, thread = wf.name, wf.slack_channel_id, wf.slack_thread_ts
    if n8n is None:
        raise SettingsError(["N8N_URL and N8N_API_KEY are needed to roll back."])
    try:
        new = rollback_to(
            session_factory=session_factory,
            n8n=n8n,
            workflow_id=workflow_id,
            version=version,
            actor=actor,
            idempotency_key=f"{idempotency_prefix}:{workflow_id}:{from_head}->{version}"
            if idempotency_prefix
            else None,
            settings=settings,
        )
    except ReviewPending as e:
        return RollbackWaits(workflow_id, name, version, e.version, e.review_id, channel, thread)
    return RolledBack(
        workflow_id=workflow_id,
        name=name,
        version=version,
        new_version=new.version,
        channel=channel,
        thread_ts=thread,
        picture=version_picture(
            session_factory,
            workflow_id=workflow_id,
            version=new.version,
            title=f"{name} · v{new.version} (rollback to v{version})",
        ),
    )


def version_picture(
    session_factory: sessionmaker[Session], *, workflow_id: int, version: int, title: str
) -> Layout:
    """Version `version` of the workflow, laid out; when it replaced a deployed version (an
    edit, a rollback, a repair), the nodes added, removed and changed since that one marked."""
    with session_factory.begin() as session:
        payload = dict(
            get_version(session=session, workflow_id=workflow_id, version=version).json_payload
        )
        earlier = [
            v
            for v in list_versions(session=session, workflow_id=workflow_id)
            if v.version < version and v.status in ROLLBACK_TARGETS
        ]
        before = dict(max(earlier, key=lambda v: v.version).json_payload) if earlier else None
    if before is None:
        return layout_workflow(payload, title=title)
    picture, marks = diff_marks(before, payload)
    return layout_workflow(picture, marks=marks, title=title)


@dataclass(frozen=True)
class Restored:
    """A deleted workflow back in n8n: its new version runs `from_version`'s workflow."""

    workflow_id: int
    name: str
    version: int
    from_version: int | None
    n8n_workflow_id: str | None


def restore(
    session_factory: sessionmaker[Session],
    *,
    n8n: N8nClient | None,
    settings: Settings,
    actor: Actor,
    ref: str,
    project: str | int | None = None,
    progress: SayLine | None = None,
) -> Restored:
    """Bring back the deleted workflow `ref` (name or #id) of the project `project` (None: the
    actor's active one): its last deployed version deployed again on a new n8n workflow.
    Project owners only, within the retention period (`core.usecases.lifecycle.restore`)."""
    workflow_id = find_workflow_id(
        session_factory, actor=actor, ref=ref, project=project, include_deleted=True
    )
    # Owners only, within the retention period; the restore is a history event.
    new = restore_deleted(
        session_factory,
        n8n=n8n,
        settings=settings,
        actor=actor,
        workflow_id=workflow_id,
        progress=progress,
    )
    with session_factory.begin() as session:
        wf = find_workflow(session=session, workflow_id=workflow_id)
        assert wf is not None
        return Restored(wf.id, wf.name, new.new_version, new.from_version, wf.n8n_workflow_id)
