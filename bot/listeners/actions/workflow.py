"""Buttons on a workflow's summary and the rollback picker. Every id in a value is untrusted:
core re-checks the clicking user's role in the workflow's project."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, BoltContext, Respond
from slack_sdk import WebClient

from bot.blocks.run_now import (
    cancelled_blocks,
    confirm_test_run_blocks,
    confirm_test_run_text,
    run_result_blocks,
    run_result_text,
    running_blocks,
)
from bot.blocks.versions import parse_rollback_value, rollback_done_blocks
from bot.listeners.context import SlackRequest, acked, services_of, team_of, user_of
from bot.reviews import announce_now, tell_waiting
from bot.run_now import run_test, target_for_test
from bot.versions import picker_view, post_rollback_picture, rolled_back, versions_view
from core.kernel.errors import InvalidInput
from core.usecases.run_now import RunNowTarget
from core.usecases.versions import RollbackWaits


def _workflow_id(action: dict[str, Any]) -> int:
    try:
        return int(action["value"])
    except (KeyError, TypeError, ValueError) as e:
        raise InvalidInput("That button does not name a workflow.") from e


def _rollback_target(value: str) -> tuple[int, int]:
    try:
        return parse_rollback_value(value)
    except (TypeError, ValueError) as e:
        raise InvalidInput("That version choice is not valid.") from e


def _respond_with_view(
    view: Any, text: str, action: dict[str, Any], respond: Respond, context: BoltContext
) -> None:
    """Render `view` for the clicked workflow (authorized inside the view) as an ephemeral reply."""
    blocks = view(
        services_of(context),
        team_id=team_of(context),
        user_id=user_of(context),
        workflow_id=_workflow_id(action),
    )
    respond(blocks=blocks, text=text, response_type="ephemeral", replace_original=False)


@acked()
def handle_versions(request: SlackRequest) -> None:
    assert request.respond is not None
    _respond_with_view(versions_view, "Versions", request.payload, request.respond, request.context)


@acked()
def handle_rollback_open(request: SlackRequest) -> None:
    assert request.respond is not None
    _respond_with_view(picker_view, "Roll back", request.payload, request.respond, request.context)


@acked()
def handle_rollback_select(request: SlackRequest) -> None:
    assert request.respond is not None
    show_rollback_choice(request.payload, request.respond, request.context)


def show_rollback_choice(action: dict[str, Any], respond: Respond, context: BoltContext) -> None:
    """A version was picked: show its diff against the current version and the confirm button."""
    workflow_id, version = _rollback_target(action["selected_option"]["value"])
    blocks = picker_view(
        services_of(context),
        team_id=team_of(context),
        user_id=user_of(context),
        workflow_id=workflow_id,
        selected=version,
    )
    respond(blocks=blocks, text="Roll back", replace_original=True)


@acked(pool="runs")
def handle_rollback_confirm(request: SlackRequest) -> None:
    """Redeploys n8n: seconds, so on a run worker."""
    assert request.respond is not None
    workflow_id, version = _rollback_target(request.payload.get("value", ""))
    confirm_rollback(workflow_id, version, request.respond, request.client, request.context)


def confirm_rollback(
    workflow_id: int, version: int, respond: Respond, client: WebClient, context: BoltContext
) -> None:
    """Redeploy the chosen version (on a run worker) and say so in place and in the thread."""
    services = services_of(context)
    team, user = team_of(context), user_of(context)
    done = rolled_back(
        services, team_id=team, user_id=user, workflow_id=workflow_id, version=version
    )
    if isinstance(done, RollbackWaits):
        # Review before live: nothing changed in n8n; the owners are asked, the thread told.
        text = tell_waiting(
            client,
            channel=done.channel,
            thread_ts=done.thread_ts,
            name=done.name,
            version=done.new_version,
            review_id=done.review_id,
            requested_by=user,
        )
        respond(text=text, replace_original=True)
        announce_now(services, client, done.review_id)
        return
    blocks = rollback_done_blocks(
        name=done.name, from_version=version, new_version=done.new_version, actor=user
    )
    text = f"Rolled back to v{version} (now v{done.new_version})"
    respond(blocks=blocks, text=text, replace_original=True)
    if done.channel and done.thread_ts:
        client.chat_postMessage(
            channel=done.channel, thread_ts=done.thread_ts, blocks=blocks, text=text
        )
        post_rollback_picture(client, done)


@acked(pool="runs")  # waits for n8n's execution: seconds, so on a run worker
def handle_test_run(request: SlackRequest) -> None:
    """Test run: a workflow whose nodes act outside n8n asks first (Run the test / Cancel);
    one that only computes runs at once. The result is one ephemeral message."""
    workflow_id = _workflow_id(request.payload)
    target = _test_target(request.context, workflow_id)
    effects = target.effects
    if effects:
        blocks = confirm_test_run_blocks(workflow_id=workflow_id, name=target.name, effects=effects)
        text = confirm_test_run_text(target.name)
        request.reply(blocks=blocks, text=text, response_type="ephemeral", replace_original=False)
        return
    report = run_test(request.services, target, client=request.client)
    request.reply(
        blocks=run_result_blocks(target.name, report),
        text=run_result_text(target.name, report),
        response_type="ephemeral",
        replace_original=False,
    )


def _test_target(context: BoltContext, workflow_id: int) -> RunNowTarget:
    return target_for_test(
        services_of(context),
        team_id=team_of(context),
        user_id=user_of(context),
        workflow_id=workflow_id,
    )


@acked(pool="runs")
def handle_test_run_confirm(request: SlackRequest) -> None:
    """Run the confirmed test; the confirmation message becomes the running note, then the
    per-node result."""
    workflow_id = _workflow_id(request.payload)
    target = _test_target(request.context, workflow_id)  # the role is checked again on this click
    request.reply(blocks=running_blocks(target.name), text="Testing…", replace_original=True)
    report = run_test(request.services, target, client=request.client)
    request.reply(
        blocks=run_result_blocks(target.name, report),
        text=run_result_text(target.name, report),
        replace_original=True,
    )


def handle_test_run_cancel(
    ack: Ack, action: dict[str, Any], respond: Respond, context: BoltContext
) -> None:
    ack()
    respond(blocks=cancelled_blocks(), text="Test run cancelled", replace_original=True)


def handle_open_in_n8n(ack: Ack) -> None:
    ack()  # a link button: Slack opens the URL, we only acknowledge
