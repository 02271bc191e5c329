"""The message shortcut "Run a workflow on this message": a modal to pick one of the user's
current project's workflows that accept a message (`core.triggers.workflows_accepting_message`);
its submission is `bot.listeners.views.run`."""

from __future__ import annotations

from bot.blocks.triggers import RunRequest, picker_modal
from bot.listeners.context import SlackRequest, acked
from core.deploy.named import current_project
from core.triggers import workflows_accepting_message
from core.workspace.projects import Actor


@acked()
def handle_run_on_message(request: SlackRequest) -> None:
    body = request.body
    message = body.get("message") or {}
    channel = str((body.get("channel") or {}).get("id") or "")
    actor = Actor(request.team, request.user)
    services = request.services
    project = current_project(session_factory=services.session_factory, actor=actor)
    choices = workflows_accepting_message(
        session_factory=services.session_factory, actor=actor, project_id=project.project_id
    )
    run = RunRequest(
        source="shortcut",
        channel_id=channel,
        message={
            "channel_id": channel,
            "ts": str(message.get("ts") or ""),
            "text": str(message.get("text") or ""),
            "user_id": str(message.get("user") or ""),
        },
    )
    request.client.views_open(
        trigger_id=body["trigger_id"],
        view=picker_modal(project_name=project.name, choices=choices, request=run),
    )
