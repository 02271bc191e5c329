"""Owning a workflow: pause, resume, rename and delete it (editors only, the rule of rollback).

Each change is a `WorkflowEvent` ("paused by …") shown in the versions view beside the
versions, and a telemetry event. Pausing deactivates the workflow in n8n and marks it
`inactive` here: the execution watch only reads `active` workflows, so a paused one is neither
repaired nor reported as failing. Deleting removes it from n8n with its test copies and marks it
`deleted`: every version row stays, and its owner can restore it (`DELETED_RETENTION_DAYS`).

n8n is called with no transaction open: the role is checked and what is needed read first, then
n8n is asked, then the result is recorded in a new transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from core.deploy.gate import unreserved_name
from core.deploy.lifecycle import deactivate_workflow, delete_workflow, restore_workflow
from core.deploy.lock import workflow_lock
from core.deploy.publish import SayLine
from core.deploy.versions import authorized, deploy_version
from core.deploy.workflows import get_workflow, head_version
from core.graph import text_outline, workflow_graph
from core.kernel import slack_trigger, telemetry
from core.kernel.errors import InvalidInput, SettingsError
from core.kernel.models import PipelineRun, Workflow, WorkflowEvent, utcnow
from core.kernel.settings import Settings
from core.kernel.vocabulary import (
    Role,
    RunState,
    VersionSource,
    WorkflowEventKind,
    WorkflowStatus,
)
from core.n8n import N8nClient
from core.run_now.sweep import delete_copies_named
from core.triggers import has_trigger
from core.workspace.projects import Actor

# How long a deleted workflow's versions are kept for its owner to restore it (README).
DELETED_RETENTION_DAYS: Final = 30

MAX_NAME = 200


@dataclass(frozen=True)
class WorkflowChanged:
    """A pause, resume, rename or delete asked for: `changed` False when there was nothing to do
    (pausing a paused workflow); `status` is the workflow's status after it; `previous_name` is
    set for a rename."""

    workflow_id: int
    name: str
    kind: WorkflowEventKind
    status: WorkflowStatus
    changed: bool
    channel: str | None = None
    thread_ts: str | None = None
    previous_name: str | None = None
    test_copies_deleted: int = 0


_TELEMETRY = {
    WorkflowEventKind.paused: telemetry.PAUSED,
    WorkflowEventKind.resumed: telemetry.RESUMED,
    WorkflowEventKind.renamed: telemetry.RENAMED,
    WorkflowEventKind.deleted: telemetry.DELETED,
    WorkflowEventKind.restored: telemetry.RESTORED,
}


def _need_n8n(n8n: N8nClient | None, what: str) -> N8nClient:
    if n8n is None:
        raise SettingsError([f"N8N_URL and N8N_API_KEY are needed to {what} a workflow."])
    return n8n


def _live(session: Session, workflow_id: int, actor: Actor) -> Workflow:
    """The workflow, if the actor may change it (editor or more) and it is not deleted."""
    wf = authorized(session, workflow_id, actor)
    if wf.status == WorkflowStatus.deleted:
        raise InvalidInput(
            f"Workflow #{wf.id} {wf.name!r} is deleted; its owner can restore it first."
        )
    return wf


def _record(
    session: Session,
    wf: Workflow,
    actor: Actor,
    kind: WorkflowEventKind,
    detail: str | None = None,
) -> None:
    session.add(WorkflowEvent(workflow_id=wf.id, kind=kind, actor=actor.user_id, detail=detail))
    telemetry_type = _TELEMETRY.get(kind)
    if telemetry_type is not None:
        telemetry.record(
            session=session,
            type=telemetry_type,
            team_id=actor.team_id,
            user_id=actor.user_id,
            project_id=wf.project_id,
            workflow_id=wf.id,
        )


def _result(
    wf: Workflow,
    kind: WorkflowEventKind,
    changed: bool,
    *,
    previous_name: str | None = None,
    test_copies_deleted: int = 0,
) -> WorkflowChanged:
    return WorkflowChanged(
        workflow_id=wf.id,
        name=wf.name,
        kind=kind,
        status=WorkflowStatus(wf.status),
        changed=changed,
        channel=wf.slack_channel_id,
        thread_ts=wf.slack_thread_ts,
        previous_name=previous_name,
        test_copies_deleted=test_copies_deleted,
    )


def pause(
    session_factory: sessionmaker[Session],
    *,
    n8n: N8nClient | None,
    actor: Actor,
    workflow_id: int,
) -> WorkflowChanged:
    """Stop the workflow in n8n until resumed (editors only); a Slack-triggered one stops
    listening too. Pausing a paused one changes nothing; one never deployed cannot be paused."""
    kind = WorkflowEventKind.paused
    with session_factory.begin() as session:
        wf = _live(session, workflow_id, actor)
        if wf.status == WorkflowStatus.inactive:
            return _result(wf, kind, False)
        if wf.n8n_workflow_id is None:
            raise InvalidInput(f"Workflow {wf.name!r} was never deployed; nothing to pause.")
    # Under the workflow's deploy lock, n8n first, then the record (and its subscriptions).
    deactivate_workflow(
        session_factory=session_factory,
        n8n=_need_n8n(n8n, "pause"),
        workflow_id=workflow_id,
        actor=actor,
    )
    with session_factory.begin() as session:
        wf = authorized(session, workflow_id, actor)
        _record(session, wf, actor, kind)
        return _result(wf, kind, True)


def resume(
    session_factory: sessionmaker[Session],
    *,
    n8n: N8nClient | None,
    actor: Actor,
    workflow_id: int,
    settings: Settings | None = None,
) -> WorkflowChanged:
    """Start a paused workflow again in n8n (editors only): its schedule and webhooks run again.
    A Slack-triggered one is deployed again from its running version (where it listens is
    checked with Slack again): `settings` is needed for it. Resuming an active one changes
    nothing."""
    kind = WorkflowEventKind.resumed
    with session_factory.begin() as session:
        wf = _live(session, workflow_id, actor)
        if wf.status == WorkflowStatus.active:
            return _result(wf, kind, False)
        if wf.n8n_workflow_id is None or wf.head_version < 1:
            raise InvalidInput(f"Workflow {wf.name!r} was never deployed; nothing to resume.")
        head = head_version(session=session, workflow_id=wf.id)
        assert head is not None
        payload, version = dict(head.json_payload), head.version
    client = _need_n8n(n8n, "resume")
    if has_trigger(payload):
        if settings is None:
            raise SettingsError(["Resuming a Slack-triggered workflow needs the settings."])
        deploy_version(
            session_factory=session_factory,
            n8n=client,
            workflow_id=workflow_id,
            json_payload=payload,
            source=VersionSource.rollback,
            actor=actor,
            rolled_back_from=version,
            settings=settings,
            review=False,  # the running version again, not a new one to review
        )
    else:
        with workflow_lock(session_factory, workflow_id):
            with session_factory.begin() as session:
                n8n_id = _live(session, workflow_id, actor).n8n_workflow_id
            assert n8n_id is not None
            client.activate(n8n_id)
            with session_factory.begin() as session:
                _live(session, workflow_id, actor).status = WorkflowStatus.active
    with session_factory.begin() as session:
        wf = _live(session, workflow_id, actor)
        _record(session, wf, actor, kind)
        return _result(wf, kind, True)


def rename(
    session_factory: sessionmaker[Session],
    *,
    n8n: N8nClient | None,
    actor: Actor,
    workflow_id: int,
    name: str,
) -> WorkflowChanged:
    """Give the workflow a new name, here and in n8n (editors only). The name is 1 to 200
    characters and never starts like a test copy's."""
    kind = WorkflowEventKind.renamed
    new_name = unreserved_name(" ".join(name.split()))
    if not new_name or len(new_name) > MAX_NAME:
        raise InvalidInput(f"A workflow name needs 1 to {MAX_NAME} characters.")
    with workflow_lock(session_factory, workflow_id):
        with session_factory.begin() as session:
            wf = _live(session, workflow_id, actor)
            old_name = wf.name
            if old_name == new_name:
                return _result(wf, kind, False, previous_name=old_name)
            n8n_id = wf.n8n_workflow_id
        if n8n_id is not None:
            client = _need_n8n(n8n, "rename")
            current = client.get_workflow(n8n_id)
            client.update_workflow(n8n_id, {**current, "name": new_name})
        with session_factory.begin() as session:
            wf = _live(session, workflow_id, actor)
            wf.name = new_name
            _record(session, wf, actor, kind, detail=f"{old_name} → {new_name}"[:420])
            return _result(wf, kind, True, previous_name=old_name)


def delete(
    session_factory: sessionmaker[Session],
    *,
    n8n: N8nClient | None,
    actor: Actor,
    workflow_id: int,
) -> WorkflowChanged:
    """Remove the workflow from n8n with its test copies (and its Slack listening) and mark it
    deleted (editors only). Its versions stay: the owner can restore it for
    DELETED_RETENTION_DAYS days."""
    kind = WorkflowEventKind.deleted
    with session_factory.begin() as session:
        wf = authorized(session, workflow_id, actor)
        if wf.status == WorkflowStatus.deleted:
            return _result(wf, kind, False)
        project_id, name = wf.project_id, wf.name
    client = _need_n8n(n8n, "delete")
    delete_workflow(
        session_factory=session_factory, n8n=client, workflow_id=workflow_id, actor=actor
    )
    copies = delete_copies_named(session_factory, client, project_id=project_id, name=name)
    with session_factory.begin() as session:
        wf = authorized(session, workflow_id, actor)
        _record(session, wf, actor, kind)
        return _result(wf, kind, True, test_copies_deleted=copies)


@dataclass(frozen=True)
class Restored:
    """A deleted workflow deployed again from its last version that ran (a new head)."""

    workflow_id: int
    name: str
    from_version: int
    new_version: int


def restore(
    session_factory: sessionmaker[Session],
    *,
    n8n: N8nClient | None,
    settings: Settings,
    actor: Actor,
    workflow_id: int,
    now: dt.datetime | None = None,
    progress: SayLine | None = None,
) -> Restored:
    """Bring a deleted workflow back (project owners only, within DELETED_RETENTION_DAYS days of
    its deletion): its last version that ran is deployed again on a new n8n workflow."""
    with session_factory.begin() as session:
        wf = get_workflow(
            session=session,
            workflow_id=workflow_id,
            team_id=actor.team_id,
            user_id=actor.user_id,
            at_least=Role.owner,
        )
        deleted_at = session.scalar(
            select(func.max(WorkflowEvent.created_at)).where(
                WorkflowEvent.workflow_id == wf.id,
                WorkflowEvent.kind == WorkflowEventKind.deleted,
            )
        )
        moment = now or utcnow()
        if deleted_at is not None and moment - deleted_at > dt.timedelta(
            days=DELETED_RETENTION_DAYS
        ):
            raise InvalidInput(
                f"Workflow #{wf.id} {wf.name!r} was deleted more than {DELETED_RETENTION_DAYS} "
                "days ago and can no longer be restored; ask for it again as a new workflow."
            )
    new = restore_workflow(
        session_factory=session_factory,
        n8n=_need_n8n(n8n, "restore"),
        workflow_id=workflow_id,
        actor=actor,
        settings=settings,
        progress=progress,
    )
    with session_factory.begin() as session:
        wf = get_workflow(
            session=session, workflow_id=workflow_id, team_id=actor.team_id, user_id=actor.user_id
        )
        _record(session, wf, actor, WorkflowEventKind.restored, detail=f"v{new.version}")
        return Restored(wf.id, wf.name, new.rolled_back_from or new.version, new.version)


@dataclass(frozen=True)
class WorkflowCard:
    """What a workflow's summary shows, read again now (after a pause, a rename): its status,
    running version, description, outline and link to n8n."""

    workflow_id: int
    name: str
    status: WorkflowStatus
    version: int
    description: str | None
    outline: list[str]
    n8n_url: str | None
    # Where its latest summary was posted (channel, message ts): the message to show again.
    summary_at: tuple[str, str] | None = None
    runs_by_hand: bool = False  # it has a Slack trigger that can be run by hand (a Run button)


def workflow_card(
    session_factory: sessionmaker[Session], *, settings: Settings, actor: Actor, workflow_id: int
) -> WorkflowCard:
    """The workflow's summary as it stands (anyone who may see it)."""
    with session_factory.begin() as session:
        wf = get_workflow(
            session=session, workflow_id=workflow_id, team_id=actor.team_id, user_id=actor.user_id
        )
        head = head_version(session=session, workflow_id=wf.id)
        payload = dict(head.json_payload) if head is not None else {}
        name, status, n8n_id = wf.name, WorkflowStatus(wf.status), wf.n8n_workflow_id
        version, description = wf.head_version, wf.description
        latest = session.execute(
            select(PipelineRun.slack_channel_id, PipelineRun.slack_message_ts)
            .where(
                PipelineRun.workflow_id == wf.id,
                PipelineRun.state == RunState.succeeded,
                PipelineRun.slack_channel_id.is_not(None),
                PipelineRun.slack_message_ts.is_not(None),
            )
            .order_by(PipelineRun.id.desc())
            .limit(1)
        ).first()
    base = settings.n8n_public_url or settings.n8n_url
    return WorkflowCard(
        workflow_id=workflow_id,
        name=name,
        status=status,
        version=version,
        description=description,
        outline=text_outline(workflow_graph(payload)) if payload else [],
        n8n_url=f"{base.rstrip('/')}/workflow/{n8n_id}" if base and n8n_id else None,
        summary_at=(str(latest[0]), str(latest[1])) if latest is not None else None,
        runs_by_hand=slack_trigger.runs_by_hand(payload) if payload else False,
    )
