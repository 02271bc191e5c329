"""`/clixen …`: start a run, or list, versions, rollback, project, quota, secret, connect, run
(a workflow by hand), triggers (which workflows listen here), help."""

from __future__ import annotations

from typing import Any

from slack_bolt import BoltContext, Respond
from slack_sdk import WebClient

from bot.blocks.messages import (
    WorkflowRow,
    help_blocks,
    projects_blocks,
    quota_blocks,
    workflow_list_blocks,
)
from bot.blocks.modals import secret_modal
from bot.home import quota_view, workflow_row
from bot.listeners.actions.connect import send_connect_link
from bot.listeners.commands.triggers import run_command, triggers_command
from bot.listeners.context import SlackRequest, acked, services_of, team_of, user_of
from bot.run_threads import start_request
from bot.versions import picker_view, restore_named, versions_view
from core.kernel.errors import InvalidInput
from core.kernel.idempotency import claim_once
from core.usecases import Actor
from core.usecases.dashboard import project_list, quota, workflows
from core.usecases.secrets import secret_form
from core.usecases.versions import find_workflow_id

SUBCOMMANDS = {
    "create",
    "list",
    "versions",
    "rollback",
    "restore",
    "project",
    "quota",
    "secret",
    "connect",
    "help",
    "run",
    "triggers",
}


@acked()
def handle_clixen_command(request: SlackRequest) -> None:
    assert request.respond is not None
    run_clixen_command(request.payload, request.respond, request.client, request.context)


def run_clixen_command(
    command: dict[str, Any], respond: Respond, client: WebClient, context: BoltContext
) -> None:
    """Everything `/clixen …` does once acknowledged (on an intake thread)."""
    services = services_of(context)
    team, user = team_of(context), user_of(context)
    text = (command.get("text") or "").strip()
    word, _, rest = text.partition(" ")
    sub = word.lower() if word.lower() in SUBCOMMANDS else None
    rest = rest.strip() if sub else text

    if sub == "help" or not text:
        respond(blocks=help_blocks(), text="How to use Clixen", response_type="ephemeral")
        return
    if sub is None or sub == "create":
        if not rest:
            raise InvalidInput("Tell me what to automate, e.g. `/clixen create every morning …`.")
        # Slack redelivers a slash command it thinks failed; one trigger starts one run.
        key = f"slack:cmd:{command['trigger_id']}"
        if not claim_once(session_factory=services.session_factory, key=key):
            return
        start_request(
            services,
            client,
            team_id=team,
            user_id=user,
            channel_id=command["channel_id"],
            thread_ts=None,
            text=rest,
            idempotency_key=key,
        )
        return
    if sub == "run":
        run_command(services, client, respond, command=command, actor=Actor(team, user), rest=rest)
        return
    if sub == "triggers":
        triggers_command(services, respond, command=command, actor=Actor(team, user))
        return
    if sub == "connect":
        if not rest:
            raise InvalidInput(
                "Name the service: `/clixen connect google-sheets` (or gmail, google-drive, "
                "google-calendar, outlook, excel, teams, hubspot, oauth2)."
            )
        send_connect_link(services, respond, team_id=team, user_id=user, service=rest, run_id=None)
        return
    actor = Actor(team, user)
    factory = services.session_factory
    if sub == "secret":
        form = secret_form(factory, actor=actor)
        view = secret_modal(project_id=form.project_id, project_name=form.project)
        client.views_open(trigger_id=command["trigger_id"], view=view)
        return
    if sub == "restore":
        respond(text=restore_named(services, team_id=team, user_id=user, ref=rest),
                response_type="ephemeral")  # fmt: skip
        return
    if sub == "list":
        page = workflows(factory, actor=actor, limit=20)
        rows: list[WorkflowRow] = [workflow_row(wf) for wf in page.workflows]
        blocks = workflow_list_blocks(page.project.name, rows, more=page.next_cursor is not None)
    elif sub == "quota":
        _, used = quota(factory, settings=services.settings, actor=actor)
        blocks = quota_blocks(quota_view(used))
    elif sub == "project":
        listed = project_list(factory, actor=actor, switch_to=rest or None)
        names = [(p.name, p.role.name) for p in listed.projects]
        blocks = projects_blocks(listed.active.name, names)
    else:  # versions / rollback <workflow> [version]
        ref, version = _workflow_and_version(rest, allow_version=sub == "rollback")
        # A deleted workflow's history stays readable (`/clixen restore` brings it back).
        workflow_id = find_workflow_id(
            factory, actor=actor, ref=ref, include_deleted=sub == "versions"
        )
        if sub == "versions":
            blocks = versions_view(services, team_id=team, user_id=user, workflow_id=workflow_id)
        else:
            blocks = picker_view(
                services, team_id=team, user_id=user, workflow_id=workflow_id, selected=version
            )
    respond(blocks=blocks, text=f"/clixen {sub}", response_type="ephemeral")


def _workflow_and_version(rest: str, *, allow_version: bool) -> tuple[str, int | None]:
    """`<workflow> [version]`: a trailing `3` or `v3` is the version (rollback only)."""
    if not rest:
        raise InvalidInput("Name a workflow: its name or #id (see `/clixen list`).")
    head, _, last = rest.rpartition(" ")
    tail = last.lower().removeprefix("v")
    if allow_version and head and tail.isdigit():
        return head.strip(), int(tail)
    return rest, None
