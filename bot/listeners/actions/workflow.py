"""Buttons on a workflow's summary and the rollback picker. Every id in a value is untrusted:
core re-checks the clicking user's role in the workflow's project."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, BoltContext, Respond
from slack_sdk import WebClient

from bot.blocks.versions import parse_rollback_value, rollback_done_blocks
from bot.listeners.context import on_run_worker, services_of, team_of, user_of
from bot.rollback import picker_view, roll_back, versions_view
from bot.runs import test_webhook
from core.errors import InvalidInput


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
    services = services_of(context)
    with services.session_factory.begin() as session:
        blocks = view(
            session,
            team_id=team_of(context),
            user_id=user_of(context),
            workflow_id=_workflow_id(action),
        )
    respond(blocks=blocks, text=text, response_type="ephemeral", replace_original=False)


def handle_versions(
    ack: Ack, action: dict[str, Any], respond: Respond, context: BoltContext
) -> None:
    ack()
    _respond_with_view(versions_view, "Versions", action, respond, context)


def handle_rollback_open(
    ack: Ack, action: dict[str, Any], respond: Respond, context: BoltContext
) -> None:
    ack()
    _respond_with_view(picker_view, "Roll back", action, respond, context)


def handle_rollback_select(
    ack: Ack, action: dict[str, Any], respond: Respond, context: BoltContext
) -> None:
    """A version was picked: show its diff against the current version and the confirm button."""
    ack()
    services = services_of(context)
    workflow_id, version = _rollback_target(action["selected_option"]["value"])
    with services.session_factory.begin() as session:
        blocks = picker_view(
            session,
            team_id=team_of(context),
            user_id=user_of(context),
            workflow_id=workflow_id,
            selected=version,
        )
    respond(blocks=blocks, text="Roll back", replace_original=True)


def handle_rollback_confirm(
    ack: Ack,
    action: dict[str, Any],
    body: dict[str, Any],
    respond: Respond,
    client: WebClient,
    context: BoltContext,
) -> None:
    ack()
    workflow_id, version = _rollback_target(action.get("value", ""))
    on_run_worker(
        context,
        body,
        client,
        lambda: confirm_rollback(workflow_id, version, respond, client, context),
    )


def confirm_rollback(
    workflow_id: int, version: int, respond: Respond, client: WebClient, context: BoltContext
) -> None:
    """Redeploy the chosen version (on a run worker) and say so in place and in the thread."""
    services = services_of(context)
    team, user = team_of(context), user_of(context)
    done = roll_back(services, team_id=team, user_id=user, workflow_id=workflow_id, version=version)
    blocks = rollback_done_blocks(
        name=done["name"], from_version=version, new_version=done["new_version"], actor=user
    )
    text = f"Rolled back to v{version} (now v{done['new_version']})"
    respond(blocks=blocks, text=text, replace_original=True)
    if done["channel"] and done["thread_ts"]:
        client.chat_postMessage(
            channel=done["channel"], thread_ts=done["thread_ts"], blocks=blocks, text=text
        )


def handle_test_run(
    ack: Ack,
    action: dict[str, Any],
    body: dict[str, Any],
    respond: Respond,
    client: WebClient,
    context: BoltContext,
) -> None:
    ack()
    workflow_id = _workflow_id(action)

    def run_test() -> None:
        result = test_webhook(
            services_of(context),
            team_id=team_of(context),
            user_id=user_of(context),
            workflow_id=workflow_id,
        )
        respond(text=result, response_type="ephemeral", replace_original=False)

    # Waits for n8n's execution: seconds, so on a run worker.
    on_run_worker(context, body, client, run_test)


def handle_open_in_n8n(ack: Ack) -> None:
    ack()  # a link button: Slack opens the URL, we only acknowledge
