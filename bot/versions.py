"""Versions in Slack, gathered through core: the history, the rollback picker with a diff, and
the confirmed rollback itself (their blocks come from `bot.blocks.versions`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_sdk import WebClient
from sqlalchemy.orm import Session

from bot.blocks.common import Block, escape
from bot.blocks.versions import VersionRow, diff_lines, rollback_blocks, versions_blocks
from bot.pictures import post_picture, version_layout
from bot.services import BotServices
from core.deploy import rollback_to
from core.deploy.workflows import get_workflow, list_versions, version_diff
from core.kernel.errors import ClixenError
from core.kernel.vocabulary import Role
from core.workspace.projects import Actor

if TYPE_CHECKING:
    from core.kernel.models import WorkflowVersion


def version_rows(versions: list[WorkflowVersion]) -> list[VersionRow]:
    return [VersionRow(v.version, v.created_at, v.source, v.created_by, v.status) for v in versions]


def _deployable(versions: list[WorkflowVersion]) -> list[WorkflowVersion]:
    return [v for v in versions if v.status in ("deployed", "superseded")]


def versions_view(session: Session, *, team_id: str, user_id: str, workflow_id: int) -> list[Block]:
    """Every version of the workflow, for anyone who may see it."""
    wf = get_workflow(session=session, workflow_id=workflow_id, team_id=team_id, user_id=user_id)
    versions = list_versions(session=session, workflow_id=wf.id)
    return versions_blocks(
        workflow_id=wf.id,
        name=wf.name,
        head_version=wf.head_version,
        versions=version_rows(versions),
    )


def picker_view(
    session: Session,
    *,
    team_id: str,
    user_id: str,
    workflow_id: int,
    selected: int | None = None,
) -> list[Block]:
    """The version select; with `selected`, the diff from the current version and the confirmed
    button. Only editors get it: viewers cannot roll back."""
    wf = get_workflow(
        session=session,
        workflow_id=workflow_id,
        team_id=team_id,
        user_id=user_id,
        at_least=Role.editor,
    )
    versions = _deployable(list_versions(session=session, workflow_id=wf.id))
    diff = None
    if selected is not None:
        if not any(v.version == selected for v in versions) or selected == wf.head_version:
            raise ClixenError(f"v{selected} cannot be rolled back to.")
        diff = diff_lines(
            version_diff(
                session=session,
                workflow_id=wf.id,
                from_version=wf.head_version,
                to_version=selected,
            )
        )
    return rollback_blocks(
        workflow_id=wf.id,
        name=wf.name,
        head_version=wf.head_version,
        versions=version_rows(versions),
        selected=selected,
        diff=diff,
    )


def roll_back(
    services: BotServices, *, team_id: str, user_id: str, workflow_id: int, version: int
) -> dict[str, Any]:
    """Redeploy `version` as the new head. Clicking twice (or Slack redelivering) rolls back
    once: the key names the head the user saw and the target."""
    with services.session_factory.begin() as session:
        wf = get_workflow(
            session=session,
            workflow_id=workflow_id,
            team_id=team_id,
            user_id=user_id,
            at_least=Role.editor,
        )
        from_head = wf.head_version
        name, channel, thread = wf.name, wf.slack_channel_id, wf.slack_thread_ts
    new = rollback_to(
        session_factory=services.session_factory,
        n8n=services.n8n,
        workflow_id=workflow_id,
        version=version,
        actor=Actor(team_id=team_id, user_id=user_id),
        idempotency_key=f"slack:{workflow_id}:{from_head}->{version}",
        settings=services.settings,
    )
    return {
        "name": name,
        "version": version,
        "new_version": new.version,
        "channel": channel,
        "thread_ts": thread,
    }


def restore_named(services: BotServices, *, team_id: str, user_id: str, ref: str) -> str:
    """`/clixen restore <workflow>`: a deleted workflow of the user's active project back in
    n8n from its last version (project owners; core.deploy.restore_named); the reply."""
    from core.deploy import restore_named as restore

    wf, new = restore(
        session_factory=services.session_factory,
        n8n=services.n8n,
        actor=Actor(team_id=team_id, user_id=user_id),
        ref=ref,
        settings=services.settings,
    )
    return (
        f":white_check_mark: *{escape(wf.name)}* (#{wf.id}) is back: v{new.version} "
        f"(v{new.rolled_back_from}'s workflow) runs in n8n."
    )


def post_rollback_picture(
    services: BotServices, client: WebClient, *, workflow_id: int, done: dict[str, Any]
) -> None:
    """The rolled-back workflow's picture in its thread, nodes added, removed and changed
    against the version it replaced marked (`done` is what `roll_back` returned)."""
    with services.session_factory.begin() as session:
        layout = version_layout(
            session,
            workflow_id=workflow_id,
            version=done["new_version"],
            title=f"{done['name']} · v{done['new_version']} (rollback to v{done['version']})",
        )
    post_picture(
        client,
        channel=done["channel"],
        thread_ts=done["thread_ts"],
        layout=layout,
        filename=f"workflow-{workflow_id}-v{done['new_version']}.png",
        alt_text=" ".join(layout.caption),
    )
