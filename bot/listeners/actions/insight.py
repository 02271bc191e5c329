"""Runs (paged), a failed run opened, and Explain: from a workflow's summary, its versions view,
App Home (in a modal) and `/clixen runs|explain`. Ids in values are untrusted: core checks the
user may see the workflow and that an execution is that workflow's."""

from __future__ import annotations

from typing import Any

from slack_bolt import BoltContext
from slack_sdk import WebClient

from bot.blocks.common import Block
from bot.blocks.insight import (
    insight_modal,
    loading_blocks,
    parse_failure_value,
    parse_page_value,
)
from bot.insight import explain_view, failure_view, runs_view
from bot.listeners.context import SlackRequest, acked, on_run_worker, services_of, team_of, user_of
from core.kernel.errors import InvalidInput


def _workflow_id(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError) as e:
        raise InvalidInput("That button does not name a workflow.") from e


def _show(request: SlackRequest, blocks: list[Block], title: str, *, replace: bool) -> None:
    """In the modal the click came from (App Home), else as an ephemeral reply."""
    view = request.body.get("view") or {}
    if (request.body.get("container") or {}).get("type") == "view" and view.get("type") == "modal":
        request.client.views_update(view_id=str(view.get("id")), view=insight_modal(title, blocks))
        return
    request.reply(blocks=blocks, text=title, response_type="ephemeral", replace_original=replace)


@acked(pool="runs")  # reads n8n
def handle_runs(request: SlackRequest) -> None:
    workflow_id = _workflow_id(request.payload.get("value"))
    blocks = runs_view(
        request.services, team_id=request.team, user_id=request.user, workflow_id=workflow_id
    )
    _show(request, blocks, "Runs", replace=False)


@acked(pool="runs")
def handle_runs_page(request: SlackRequest) -> None:
    try:
        workflow_id, cursor = parse_page_value(str(request.payload.get("value")))
    except (KeyError, TypeError, ValueError) as e:
        raise InvalidInput("That page link is not valid any more.") from e
    blocks = runs_view(
        request.services,
        team_id=request.team,
        user_id=request.user,
        workflow_id=workflow_id,
        cursor=cursor,
    )
    _show(request, blocks, "Runs", replace=True)


@acked(pool="runs")
def handle_run_failure(request: SlackRequest) -> None:
    try:
        workflow_id, execution_id = parse_failure_value(str(request.payload.get("value")))
    except (TypeError, ValueError) as e:
        raise InvalidInput("That run is not valid.") from e
    channel = (request.body.get("container") or {}).get("channel_id") or (
        request.body.get("channel") or {}
    ).get("id")
    blocks = failure_view(
        request.services,
        request.client,
        team_id=request.team,
        user_id=request.user,
        workflow_id=workflow_id,
        execution_id=execution_id,
        fallback_channel=str(channel) if channel else None,
    )
    _show(request, blocks, "Failed run", replace=False)


@acked(pool="runs")  # the LLM's summary takes seconds
def handle_explain(request: SlackRequest) -> None:
    workflow_id = _workflow_id(request.payload.get("value"))
    blocks = explain_view(
        request.services, team_id=request.team, user_id=request.user, workflow_id=workflow_id
    )
    _show(request, blocks, "Explain", replace=False)


def open_insight_modal(
    choice: str, workflow_id: int, body: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
    """From App Home: open a modal at once (the trigger id lives 3 seconds), then fill it with
    the runs or the explanation read on a run worker."""
    title = "Runs" if choice == "runs" else "Explain"
    opened = client.views_open(
        trigger_id=body["trigger_id"], view=insight_modal(title, loading_blocks(title))
    )
    view_id = str((opened.get("view") or {}).get("id") or "")
    services, team, user = services_of(context), team_of(context), user_of(context)

    def work() -> None:
        if choice == "runs":
            blocks = runs_view(services, team_id=team, user_id=user, workflow_id=workflow_id)
        else:
            blocks = explain_view(services, team_id=team, user_id=user, workflow_id=workflow_id)
        client.views_update(view_id=view_id, view=insight_modal(title, blocks))

    on_run_worker(context, body, client, work)
