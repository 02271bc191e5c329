"""Runs and Explain in Slack: one use case each (`core.usecases.runs`, `core.usecases.explain`)
rendered by `bot.blocks.insight`; a failed run's picture goes into the workflow's thread."""

from __future__ import annotations

from slack_sdk import WebClient

from bot.blocks.common import Block
from bot.blocks.insight import explain_blocks, failed_run_blocks, runs_blocks
from bot.pictures import post_picture
from bot.services import BotServices
from core.usecases import Actor
from core.usecases.explain import explain_workflow
from core.usecases.runs import failed_run, runs_of


def runs_view(
    services: BotServices,
    *,
    team_id: str,
    user_id: str,
    workflow_id: int,
    cursor: str | None = None,
) -> list[Block]:
    page = runs_of(
        services.session_factory,
        n8n=services.n8n,
        settings=services.settings,
        actor=Actor(team_id, user_id),
        workflow_id=workflow_id,
        cursor=cursor,
    )
    return runs_blocks(page, older=cursor is not None)


def failure_view(
    services: BotServices,
    client: WebClient,
    *,
    team_id: str,
    user_id: str,
    workflow_id: int,
    execution_id: str,
    fallback_channel: str | None,
) -> list[Block]:
    """The failed run in words; its picture (failed node marked) posted in the workflow's
    thread (or, for a workflow without one, the channel the click came from)."""
    run = failed_run(
        services.session_factory,
        n8n=services.n8n,
        settings=services.settings,
        actor=Actor(team_id, user_id),
        workflow_id=workflow_id,
        execution_id=execution_id,
    )
    channel = run.channel or fallback_channel
    if channel:
        post_picture(
            client,
            channel=channel,
            thread_ts=run.thread_ts if run.channel else None,
            layout=run.picture,
            filename=f"workflow-{workflow_id}-execution-{run.execution_id}.png",
            alt_text=run.plain,
        )
    return failed_run_blocks(run)


def explain_view(
    services: BotServices, *, team_id: str, user_id: str, workflow_id: int
) -> list[Block]:
    return explain_blocks(
        explain_workflow(
            services.session_factory,
            settings=services.settings,
            actor=Actor(team_id, user_id),
            workflow_id=workflow_id,
        )
    )
