"""The run modals' submissions: the message shortcut's workflow picker (`RUN_PICK_CALLBACK`)
and a workflow's inputs (`RUN_INPUTS_CALLBACK`). Both close the modal at once; the picker turns
into the inputs modal instead when the chosen workflow asks for inputs (the ack carries the
new view, so that one core read happens before the ack). The answer ("is running") comes as a
private message in the channel."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient

from bot.blocks.triggers import (
    PICK_BLOCK,
    RunRequest,
    inputs_modal,
    picked_workflow,
    submitted_inputs,
)
from bot.listeners.context import after_ack, services_of, team_of, user_of
from bot.triggers import run_workflow
from core.kernel.errors import ClixenError
from core.triggers import declared_inputs
from core.workspace.projects import Actor


def _reply(client: WebClient, *, channel: str, user: str) -> Any:
    def reply(text: str) -> None:
        if channel:
            client.chat_postEphemeral(channel=channel, user=user, text=text)
        else:
            client.chat_postMessage(channel=user, text=text)

    return reply


def _run_after_ack(
    context: BoltContext,
    body: dict[str, Any],
    client: WebClient,
    request: RunRequest,
    inputs: dict[str, str],
) -> None:
    actor = Actor(team_of(context), user_of(context))
    view_id = str((body.get("view") or {}).get("id") or "")

    def work() -> None:
        run_workflow(
            services_of(context),
            client,
            actor=actor,
            request=request,
            request_id=f"{view_id}:{request.workflow_id}",
            trigger_id=None,
            inputs=inputs,
            reply=_reply(client, channel=request.channel_id, user=actor.user_id),
        )

    after_ack(context, body, client, work)


def handle_run_pick(
    ack: Ack, view: dict[str, Any], body: dict[str, Any], context: BoltContext, client: WebClient
) -> None:
    try:
        request = RunRequest.from_metadata(view.get("private_metadata") or "")
    except ValueError:
        ack(
            response_action="errors",
            errors={PICK_BLOCK: "This form is out of date; open it again."},
        )
        return
    workflow_id = picked_workflow(view)
    if workflow_id is None:
        ack(response_action="errors", errors={PICK_BLOCK: "Pick a workflow."})
        return
    request = RunRequest(
        source=request.source,
        workflow_id=workflow_id,
        text=request.text,
        channel_id=request.channel_id,
        message=request.message,
    )
    try:
        inputs = declared_inputs(
            session_factory=services_of(context).session_factory,
            actor=Actor(team_of(context), user_of(context)),
            workflow_id=workflow_id,
        )
    except ClixenError as e:
        ack(response_action="errors", errors={PICK_BLOCK: str(e)[:150]})
        return
    if inputs:
        name = next(
            (o["text"]["text"] for o in _options(view) if o.get("value") == str(workflow_id)),
            "the workflow",
        )
        ack(
            response_action="update",
            view=inputs_modal(workflow_name=name, inputs=inputs, request=request),
        )
        return
    ack()
    _run_after_ack(context, body, client, request, {})


def _options(view: dict[str, Any]) -> list[dict[str, Any]]:
    for block in view.get("blocks") or []:
        if block.get("block_id") == PICK_BLOCK:
            return list((block.get("element") or {}).get("options") or [])
    return []


def handle_run_inputs(
    ack: Ack, view: dict[str, Any], body: dict[str, Any], context: BoltContext, client: WebClient
) -> None:
    ack()
    try:
        request = RunRequest.from_metadata(view.get("private_metadata") or "")
    except ValueError:
        return  # not ours (Slack signs what it sends back: nothing to run)
    _run_after_ack(context, body, client, request, submitted_inputs(view))
