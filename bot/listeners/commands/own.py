"""`/clixen pause|resume|rename|delete|runs|explain WORKFLOW`, `/clixen digest …`, `/clixen review
on|off`: owning a workflow from a slash
command. Delete is never done by the command alone: it answers with the confirmed Delete button.
`rename WORKFLOW` opens the rename form; `rename #ID to NEW NAME` renames at once."""

from __future__ import annotations

import re
from functools import partial
from typing import Any

from slack_bolt import BoltContext, Respond
from slack_sdk import WebClient

from bot.blocks.common import Block, actions, button, escape, section
from bot.blocks.lifecycle import delete_confirm, rename_modal
from bot.blocks.reviews import pending_blocks, setting_text
from bot.insight import explain_view, runs_view
from bot.lifecycle import (
    change_workflow,
    current_name,
    refresh_message,
    rename_workflow,
    tell_thread,
)
from bot.listeners.context import on_run_worker, services_of, team_of, user_of
from bot.services import BotServices
from core.kernel.errors import InvalidInput
from core.usecases import Actor
from core.usecases.digest import set_digest
from core.usecases.reviews import review_overview, set_review
from core.usecases.versions import find_workflow_id

OWN_SUBCOMMANDS = frozenset(
    {"pause", "resume", "rename", "delete", "runs", "explain", "digest", "review"}
)

_CHANNEL_MENTION = re.compile(r"^<#([A-Z0-9]+)(?:\|[^>]*)?>$")


def _digest(rest: str, command: dict[str, Any], respond: Respond, context: BoltContext) -> None:
    """`/clixen digest daily|weekly [#channel]` (default: this channel) or `off`."""
    every, _, where = rest.partition(" ")
    where = where.strip()
    channel = str(command.get("channel_id") or "")
    if where:
        mention = _CHANNEL_MENTION.match(where)
        if mention is None:
            raise InvalidInput(
                "Pick the channel from Slack's list after typing # (or run the command in that "
                "channel): `/clixen digest weekly #team-ops`."
            )
        channel = mention.group(1)
    done = set_digest(
        services_of(context).session_factory,
        actor=Actor(team_of(context), user_of(context)),
        project=None,
        every=every,
        channel=channel,
    )
    if done.every is None:
        text = f"The digest of project *{escape(done.project)}* is off."
    else:
        text = (
            f"A {done.every} digest of project *{escape(done.project)}* (runs, failures, "
            f"repairs, tokens) will be posted in <#{done.channel}>. "
            "Turn it off with `/clixen digest off`."
        )
    respond(text=text, response_type="ephemeral")


def _review(rest: str, respond: Respond, context: BoltContext) -> None:
    """`/clixen review on|off` (owners) or `/clixen review`: the setting and what waits."""
    word = rest.strip().lower()
    actor = Actor(team_of(context), user_of(context))
    factory = services_of(context).session_factory
    if word in ("on", "off"):
        done = set_review(factory, actor=actor, project=None, on=word == "on")
        respond(text=setting_text(project=done.project, on=done.on), response_type="ephemeral")
        return
    if word:
        raise InvalidInput("Say `/clixen review on`, `/clixen review off`, or `/clixen review`.")
    seen = review_overview(factory, actor=actor, pending_only=True)
    blocks = pending_blocks(project=seen.setting.project, on=seen.setting.on, rows=seen.reviews)
    respond(blocks=blocks, text="Review before live", response_type="ephemeral")


def _rename_parts(rest: str) -> tuple[str, str | None]:
    """(workflow, new name or None): `#12 to New name` names both; anything else is a workflow
    whose new name the form asks for (a name can itself contain " to ")."""
    head, sep, tail = rest.partition(" to ")
    if sep and head.strip().startswith("#") and head.strip()[1:].isdigit() and tail.strip():
        return head.strip(), tail.strip()
    return rest, None


def run_own_command(
    sub: str,
    rest: str,
    command: dict[str, Any],
    respond: Respond,
    client: WebClient,
    context: BoltContext,
) -> None:
    """`/clixen pause|resume|rename|delete|runs|explain|digest …`, once acknowledged."""
    if sub == "digest":
        _digest(rest, command, respond, context)
        return
    if sub == "review":
        _review(rest, respond, context)
        return
    services = services_of(context)
    team, user = team_of(context), user_of(context)
    if not rest:
        raise InvalidInput(f"Name a workflow: `/clixen {sub} NAME` or `#id` (see `/clixen list`).")
    ref, new_name = _rename_parts(rest) if sub == "rename" else (rest, None)
    workflow_id = find_workflow_id(services.session_factory, actor=Actor(team, user), ref=ref)
    if sub == "rename" and new_name is None:
        name = current_name(services, team_id=team, user_id=user, workflow_id=workflow_id)
        client.views_open(
            trigger_id=command["trigger_id"],
            view=rename_modal(workflow_id=workflow_id, name=name),
        )
        return
    if sub == "delete":
        name = current_name(services, team_id=team, user_id=user, workflow_id=workflow_id)
        respond(
            blocks=_delete_question(name, workflow_id),
            text=f"Delete {name}?",
            response_type="ephemeral",
        )
        return
    on_run_worker(
        context,
        command,
        client,
        partial(
            _act_on_workflow,
            services,
            client,
            respond,
            command,
            sub=sub,
            actor=Actor(team, user),
            workflow_id=workflow_id,
            new_name=new_name,
        ),
    )


def _delete_question(name: str, workflow_id: int) -> list[Block]:
    """Delete this workflow? With the Delete button that asks to confirm."""
    return [
        section(f"Delete *{escape(name)}*? Click Delete and confirm."),
        actions(
            button(
                "Delete",
                "workflow_delete",
                str(workflow_id),
                style="danger",
                confirm=delete_confirm(name),
            ),
            block_id=f"workflow_own:{workflow_id}",
        ),
    ]


def _act_on_workflow(
    services: BotServices,
    client: WebClient,
    respond: Respond,
    command: dict[str, Any],
    *,
    sub: str,
    actor: Actor,
    workflow_id: int,
    new_name: str | None,
) -> None:
    """On a run worker: show the workflow's runs or explanation, or rename, pause or resume it
    (told in its thread, its message refreshed)."""
    team, user = actor.team_id, actor.user_id
    if sub == "runs":
        blocks = runs_view(services, team_id=team, user_id=user, workflow_id=workflow_id)
        respond(blocks=blocks, text="Runs", response_type="ephemeral")
        return
    if sub == "explain":
        blocks = explain_view(services, team_id=team, user_id=user, workflow_id=workflow_id)
        respond(blocks=blocks, text="Explain", response_type="ephemeral")
        return
    if sub == "rename":
        assert new_name is not None
        done = rename_workflow(
            services, team_id=team, user_id=user, workflow_id=workflow_id, name=new_name
        )
    else:
        done = change_workflow(
            services, action=sub, team_id=team, user_id=user, workflow_id=workflow_id
        )
    text = tell_thread(client, done, actor=user)
    refresh_message(services, client, command, team_id=team, user_id=user, workflow_id=workflow_id)
    respond(text=text, response_type="ephemeral")
