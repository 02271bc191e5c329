"""The Run button (a workflow's summary, App Home): run it by hand now, its inputs asked in a
modal first when it declares any."""

from __future__ import annotations

from bot.blocks.triggers import RunRequest
from bot.listeners.context import SlackRequest, acked
from bot.triggers import run_workflow
from core.kernel.errors import InvalidInput
from core.workspace.projects import Actor


@acked()
def handle_run_button(request: SlackRequest) -> None:
    value = str(request.payload.get("value") or "")
    if not value.isdigit():
        raise InvalidInput("This button is not valid any more; open the workflow again.")
    channel = str((request.body.get("channel") or {}).get("id") or "")
    user, client = request.user, request.client

    def reply(text: str) -> None:
        if request.body.get("response_url"):
            request.reply(text=text, response_type="ephemeral", replace_original=False)
        else:  # App Home: no response URL; a direct message from the bot
            client.chat_postMessage(channel=user, text=text)

    run_workflow(
        request.services,
        client,
        actor=Actor(request.team, user),
        request=RunRequest(source="button", workflow_id=int(value), channel_id=channel),
        request_id=str(request.body.get("trigger_id") or request.payload.get("action_ts")),
        trigger_id=request.body.get("trigger_id"),
        reply=reply,
    )
