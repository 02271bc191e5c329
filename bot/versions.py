"""Versions in Slack: the history, the rollback picker with a diff, and the confirmed rollback
itself, each one use case (`core.usecases.versions`) rendered by `bot.blocks.versions`."""

from __future__ import annotations

from slack_sdk import WebClient

from bot.blocks.common import Block, escape
from bot.blocks.lifecycle import EventRow, events_block, own_buttons
from bot.blocks.reviews import reviews_block
from bot.blocks.versions import VersionRow, diff_lines, rollback_blocks, versions_blocks
from bot.pictures import post_picture
from bot.services import BotServices
from core.kernel.models import WorkflowVersion
from core.usecases import Actor
from core.usecases.versions import (
    RollbackWaits,
    RolledBack,
    roll_back,
    rollback_choice,
    versions,
)


def version_rows(rows: list[WorkflowVersion]) -> list[VersionRow]:
    return [VersionRow(v.version, v.created_at, v.source, v.created_by, v.status) for v in rows]


def versions_view(
    services: BotServices, *, team_id: str, user_id: str, workflow_id: int
) -> list[Block]:
    """Every version of the workflow, for anyone who may see it."""
    history = versions(
        services.session_factory, actor=Actor(team_id, user_id), workflow_id=workflow_id
    )
    wf = history.workflow
    blocks = versions_blocks(
        workflow_id=wf.id,
        name=wf.name,
        head_version=wf.head_version,
        versions=version_rows(history.versions),
    )
    events = events_block(
        [EventRow(e.kind, e.actor, e.created_at, e.detail) for e in history.events]
    )
    if events is not None:
        blocks.insert(1, events)
    trail = reviews_block(history.reviews)
    if trail is not None:
        blocks.insert(1, trail)
    if wf.status != "deleted":
        blocks.append(own_buttons(workflow_id=wf.id, name=wf.name, status=wf.status))
    return blocks


def picker_view(
    services: BotServices,
    *,
    team_id: str,
    user_id: str,
    workflow_id: int,
    selected: int | None = None,
) -> list[Block]:
    """The version select; with `selected`, the diff from the current version and the confirmed
    button (editors only: core says so to a viewer)."""
    choice = rollback_choice(
        services.session_factory,
        actor=Actor(team_id, user_id),
        workflow_id=workflow_id,
        selected=selected,
    )
    wf = choice.workflow
    return rollback_blocks(
        workflow_id=wf.id,
        name=wf.name,
        head_version=wf.head_version,
        versions=version_rows(choice.versions),
        selected=choice.selected,
        diff=diff_lines(choice.diff) if choice.diff is not None else None,
    )


def rolled_back(
    services: BotServices, *, team_id: str, user_id: str, workflow_id: int, version: int
) -> RolledBack | RollbackWaits:
    """Redeploy `version` as the new head (once, however often Slack delivers the click), or,
    with review before live on, store it for an owner's approval."""
    return roll_back(
        services.session_factory,
        n8n=services.n8n,
        settings=services.settings,
        actor=Actor(team_id, user_id),
        workflow_id=workflow_id,
        version=version,
        idempotency_prefix="slack",
    )


def restore_named(services: BotServices, *, team_id: str, user_id: str, ref: str) -> str:
    """`/clixen restore <workflow>`: a deleted workflow of the user's active project back in
    n8n from its last version (project owners; core.usecases.versions.restore); the reply."""
    from core.usecases.versions import restore

    done = restore(
        services.session_factory,
        n8n=services.n8n,
        settings=services.settings,
        actor=Actor(team_id, user_id),
        ref=ref,
    )
    return (
        f":white_check_mark: *{escape(done.name)}* (#{done.workflow_id}) is back: "
        f"v{done.version} (v{done.from_version}'s workflow) runs in n8n."
    )


def post_rollback_picture(client: WebClient, done: RolledBack) -> None:
    """The rolled-back workflow's picture in its thread, nodes added, removed and changed
    against the version it replaced marked."""
    post_picture(
        client,
        channel=done.channel or "",
        thread_ts=done.thread_ts,
        layout=done.picture,
        filename=f"workflow-{done.workflow_id}-v{done.new_version}.png",
        alt_text=" ".join(done.picture.caption),
    )
