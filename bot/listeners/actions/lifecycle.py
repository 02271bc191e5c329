"""Pause, Resume, Rename…, Delete on a workflow's summary, versions view and App Home menu, and
the rename/delete modals. Every workflow id here came from Slack: core re-checks the user's role
in the workflow's project (a forged value naming another workspace's workflow is refused)."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient

from bot.blocks.lifecycle import delete_modal, parse_menu_value, rename_modal
from bot.home import publish_home
from bot.lifecycle import (
    change_workflow,
    current_name,
    refresh_message,
    rename_workflow,
    tell_thread,
)
from bot.listeners.context import (
    SlackRequest,
    acked,
    after_ack,
    on_run_worker,
    services_of,
    team_of,
    user_of,
)
from bot.versions import versions_view
from core.kernel.errors import InvalidInput


def _workflow_id(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError) as e:
        raise InvalidInput("That button does not name a workflow.") from e


def _change_from_button(request: SlackRequest, action: str) -> None:
    """Pause/resume/delete from a message: the thread is told, the summary shows the new state
    (or, in the ephemeral versions view, the view is shown again with the history line)."""
    workflow_id = _workflow_id(request.payload.get("value"))
    team, user = request.team, request.user
    done = change_workflow(
        request.services, action=action, team_id=team, user_id=user, workflow_id=workflow_id
    )
    text = tell_thread(request.client, done, actor=user)
    refreshed = refresh_message(
        request.services,
        request.client,
        request.body,
        team_id=team,
        user_id=user,
        workflow_id=workflow_id,
    )
    if refreshed:
        if not done.changed:
            request.reply(text=text, response_type="ephemeral", replace_original=False)
        return
    blocks = versions_view(request.services, team_id=team, user_id=user, workflow_id=workflow_id)
    request.reply(blocks=blocks, text=text, replace_original=True)


@acked(pool="runs")  # n8n deactivates: seconds
def handle_pause(request: SlackRequest) -> None:
    _change_from_button(request, "pause")


@acked(pool="runs")
def handle_resume(request: SlackRequest) -> None:
    _change_from_button(request, "resume")


@acked(pool="runs")  # n8n deletes (it may need seconds to unpublish first)
def handle_delete(request: SlackRequest) -> None:
    """Confirmed in Slack's dialog before this is sent."""
    _change_from_button(request, "delete")


@acked()
def handle_rename_open(request: SlackRequest) -> None:
    """Open the rename modal (on an intake thread, well within the trigger id's 3 seconds);
    core checks the role on submit (here only that the user may see the workflow)."""
    open_rename(
        _workflow_id(request.payload.get("value")), request.body, request.client, request.context
    )


def open_rename(
    workflow_id: int, body: dict[str, Any], client: WebClient, ctx: BoltContext
) -> None:
    name = current_name(
        services_of(ctx), team_id=team_of(ctx), user_id=user_of(ctx), workflow_id=workflow_id
    )
    client.views_open(
        trigger_id=body["trigger_id"], view=rename_modal(workflow_id=workflow_id, name=name)
    )


def handle_rename_submission(
    ack: Ack, view: dict[str, Any], body: dict[str, Any], context: BoltContext, client: WebClient
) -> None:
    name = ((view.get("state") or {}).get("values") or {}).get("name", {}).get("value", {})
    new_name = str(name.get("value") or "").strip()
    if not new_name:
        ack(response_action="errors", errors={"name": "Give the workflow a name."})
        return
    ack()
    workflow_id = _workflow_id(view.get("private_metadata"))
    team, user = team_of(context), user_of(context)

    def work() -> None:
        done = rename_workflow(
            services_of(context), team_id=team, user_id=user, workflow_id=workflow_id, name=new_name
        )
        tell_thread(client, done, actor=user)
        refresh_message(
            services_of(context), client, body, team_id=team, user_id=user, workflow_id=workflow_id
        )
        publish_home(services_of(context), client, team_id=team, user_id=user)

    after_ack(context, body, client, work)


def handle_delete_submission(
    ack: Ack, view: dict[str, Any], body: dict[str, Any], context: BoltContext, client: WebClient
) -> None:
    """The App Home delete modal was confirmed."""
    ack()
    workflow_id = _workflow_id(view.get("private_metadata"))
    team, user = team_of(context), user_of(context)
    services = services_of(context)

    def work() -> None:
        done = change_workflow(
            services, action="delete", team_id=team, user_id=user, workflow_id=workflow_id
        )
        tell_thread(client, done, actor=user)
        refresh_message(services, client, body, team_id=team, user_id=user, workflow_id=workflow_id)
        publish_home(services, client, team_id=team, user_id=user)

    on_run_worker(context, body, client, work)


@acked()
def handle_home_menu(request: SlackRequest) -> None:
    """An App Home row's menu: rename/delete open their modal (the trigger id expires in 3
    seconds: on an intake thread, at once); pause/resume go to a run worker and publish the
    home again; runs/explain open a modal filled on a run worker."""
    home_menu_choice(request.payload, request.body, request.client, request.context)


def home_menu_choice(
    action: dict[str, Any], body: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
    try:
        choice, workflow_id = parse_menu_value(str(action["selected_option"]["value"]))
    except (KeyError, TypeError, ValueError) as e:
        raise InvalidInput("That menu choice is not valid.") from e
    services = services_of(context)
    team, user = team_of(context), user_of(context)
    if choice == "rename":
        open_rename(workflow_id, body, client, context)
        return
    if choice == "delete":
        name = current_name(services, team_id=team, user_id=user, workflow_id=workflow_id)
        client.views_open(
            trigger_id=body["trigger_id"], view=delete_modal(workflow_id=workflow_id, name=name)
        )
        return
    if choice in ("runs", "explain"):
        from bot.listeners.actions.insight import open_insight_modal

        open_insight_modal(choice, workflow_id, body, client, context)
        return

    def work() -> None:
        done = change_workflow(
            services, action=choice, team_id=team, user_id=user, workflow_id=workflow_id
        )
        tell_thread(client, done, actor=user)
        refresh_message(services, client, body, team_id=team, user_id=user, workflow_id=workflow_id)
        publish_home(services, client, team_id=team, user_id=user)

    on_run_worker(context, body, client, work)
