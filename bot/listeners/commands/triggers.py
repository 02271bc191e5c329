"""`/clixen run WORKFLOW [text]` (run a workflow by hand: its inputs asked in a modal first when
it declares any) and `/clixen triggers` (which workflows listen in this channel)."""

from __future__ import annotations

from typing import Any

from slack_bolt import Respond
from slack_sdk import WebClient

from bot.blocks.triggers import RunRequest, channel_triggers_blocks
from bot.services import BotServices
from bot.triggers import run_workflow
from core.deploy.named import NamedWorkflow, workflow_named
from core.kernel.errors import InvalidInput, NotFound
from core.triggers import triggers_in_channel
from core.workspace.projects import Actor

MAX_NAME_WORDS = 8  # the longest workflow name `/clixen run` tries, in words


def _workflow_and_text(rest: str, services: BotServices, actor: Actor) -> tuple[NamedWorkflow, str]:
    """`WORKFLOW [text]`: the longest leading words that name a workflow, the rest is the text
    ("Weekly report for Q3" runs "Weekly report" with "for Q3" when no workflow has the longer
    name). A quoted name ("…") is taken as is."""
    rest = rest.strip()
    if not rest:
        raise InvalidInput("Name the workflow to run: `/clixen run <name or #id> [text]`.")
    if rest[0] in '"“':
        name, _, text = rest[1:].partition("”" if rest[0] == "“" else '"')
        return workflow_named(
            session_factory=services.session_factory, actor=actor, ref=name
        ), text.strip()
    words = rest.split()
    for n in range(min(len(words), MAX_NAME_WORDS), 0, -1):
        try:
            wf = workflow_named(
                session_factory=services.session_factory, actor=actor, ref=" ".join(words[:n])
            )
        except NotFound:  # try a shorter name (an ambiguous one raises InvalidInput: said)
            continue
        return wf, " ".join(words[n:])
    raise NotFound(
        f"No workflow of your current project is called {' '.join(words[:MAX_NAME_WORDS])!r} "
        "or a first part of it: see `/clixen list` (a name in quotes is taken as is). To build "
        f"a new workflow, say `/clixen create run {' '.join(words[:MAX_NAME_WORDS])}`."
    )


def run_command(
    services: BotServices,
    client: WebClient,
    respond: Respond,
    *,
    command: dict[str, Any],
    actor: Actor,
    rest: str,
) -> None:
    workflow, text = _workflow_and_text(rest, services, actor)

    def reply(message: str) -> None:
        respond(text=message, response_type="ephemeral")

    run_workflow(
        services,
        client,
        actor=actor,
        request=RunRequest(
            source="command",
            workflow_id=workflow.workflow_id,
            text=text,
            channel_id=str(command.get("channel_id") or ""),
        ),
        request_id=str(command["trigger_id"]),
        trigger_id=str(command["trigger_id"]),
        reply=reply,
        workflow_name=workflow.name,
    )


def triggers_command(
    services: BotServices, respond: Respond, *, command: dict[str, Any], actor: Actor
) -> None:
    channel = str(command.get("channel_id") or "")
    listings = triggers_in_channel(
        session_factory=services.session_factory, actor=actor, channel_id=channel
    )
    respond(
        blocks=channel_triggers_blocks(channel, listings),
        text="Workflows that listen here",
        response_type="ephemeral",
    )
