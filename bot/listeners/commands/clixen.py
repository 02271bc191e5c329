"""`/clixen …`: start a run, or list, versions, rollback, project, quota, secret, connect, run
(a workflow by hand), triggers (which workflows listen here), help, and pause, resume, rename,
delete, runs, explain, digest (`bot.listeners.commands.own`)."""

from __future__ import annotations

from typing import Any

from slack_bolt import BoltContext, Respond
from slack_sdk import WebClient

from bot.blocks.common import Block
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
from bot.listeners.commands.own import OWN_SUBCOMMANDS, run_own_command
from bot.listeners.commands.triggers import run_command, triggers_command
from bot.listeners.context import SlackRequest, acked, services_of, team_of, user_of
from bot.run_threads import start_request
from bot.services import BotServices
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
    *OWN_SUBCOMMANDS,
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
    actor = Actor(team, user)
    text = (command.get("text") or "").strip()
    word, _, rest = text.partition(" ")
    sub = word.lower() if word.lower() in SUBCOMMANDS else None
    rest = rest.strip() if sub else text

    if sub == "help" or not text:
        respond(blocks=help_blocks(), text="How to use Clixen", response_type="ephemeral")
    elif sub is None or sub == "create":
        _start_run(services, client, command, actor=actor, request=rest)
    elif sub == "run":
        run_command(services, client, respond, command=command, actor=actor, rest=rest)
    elif sub == "triggers":
        triggers_command(services, respond, command=command, actor=actor)
    elif sub == "connect":
        if not rest:
            raise InvalidInput(
                "Name the service: `/clixen connect google-sheets` (or gmail, google-drive, "
                "google-calendar, outlook, excel, teams, hubspot, oauth2)."
            )
        send_connect_link(services, respond, team_id=team, user_id=user, service=rest, run_id=None)
    elif sub in OWN_SUBCOMMANDS:
        run_own_command(sub, rest, command, respond, client, context)
    elif sub == "secret":
        form = secret_form(services.session_factory, actor=actor)
        view = secret_modal(project_id=form.project_id, project_name=form.project)
        client.views_open(trigger_id=command["trigger_id"], view=view)
    elif sub == "restore":
        respond(text=restore_named(services, team_id=team, user_id=user, ref=rest),
                response_type="ephemeral")  # fmt: skip
    else:
        blocks = _answer_blocks(services, sub, rest, actor=actor)
        respond(blocks=blocks, text=f"/clixen {sub}", response_type="ephemeral")


def _start_run(
    services: BotServices, client: WebClient, command: dict[str, Any], *, actor: Actor, request: str
) -> None:
    """Start a run for what the user asked, once per slash command."""
    if not request:
        raise InvalidInput("Tell me what to automate, e.g. `/clixen create every morning …`.")
    # Slack redelivers a slash command it thinks failed; one trigger starts one run.
    key = f"slack:cmd:{command['trigger_id']}"
    if not claim_once(session_factory=services.session_factory, key=key):
        return
    start_request(
        services,
        client,
        team_id=actor.team_id,
        user_id=actor.user_id,
        channel_id=command["channel_id"],
        thread_ts=None,
        text=request,
        idempotency_key=key,
    )


def _answer_blocks(services: BotServices, sub: str, rest: str, *, actor: Actor) -> list[Block]:
    """The blocks of `/clixen list|quota|project|versions|rollback`, shown only to the user."""
    factory = services.session_factory
    if sub == "list":
        page = workflows(factory, actor=actor, limit=20)
        rows: list[WorkflowRow] = [workflow_row(wf) for wf in page.workflows]
        return workflow_list_blocks(page.project.name, rows, more=page.next_cursor is not None)
    if sub == "quota":
        _, used = quota(factory, settings=services.settings, actor=actor)
        return quota_blocks(quota_view(used))
    if sub == "project":
        listed = project_list(factory, actor=actor, switch_to=rest or None)
        names = [(p.name, p.role.name) for p in listed.projects]
        return projects_blocks(listed.active.name, names)
    # versions / rollback <workflow> [version]
    ref, version = _workflow_and_version(rest, allow_version=sub == "rollback")
    # A deleted workflow's history stays readable (`/clixen restore` brings it back).
    workflow_id = find_workflow_id(factory, actor=actor, ref=ref, include_deleted=sub == "versions")
    if sub == "versions":
        return versions_view(
            services, team_id=actor.team_id, user_id=actor.user_id, workflow_id=workflow_id
        )
    return picker_view(
        services,
        team_id=actor.team_id,
        user_id=actor.user_id,
        workflow_id=workflow_id,
        selected=version,
    )


def _workflow_and_version(rest: str, *, allow_version: bool) -> tuple[str, int | None]:
    """`<workflow> [version]`: a trailing `3` or `v3` is the version (rollback only)."""
    if not rest:
        raise InvalidInput("Name a workflow: its name or #id (see `/clixen list`).")
    head, _, last = rest.rpartition(" ")
    tail = last.lower().removeprefix("v")
    if allow_version and head and tail.isdigit():
        return head.strip(), int(tail)
    return rest, None
