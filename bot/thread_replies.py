"""A reply in a workflow's thread, as Slack sees it. `core.conversation.intent` says what the reply
asks for; only a clear change request starts an edit at once. Thanks get a short note, a question an
answer from what is known about the workflow, and anything unclear a "change it?" with two
buttons — all private to the reply's author; nothing is deployed until the author says yes."""

from __future__ import annotations

from slack_sdk import WebClient

from bot.blocks.thread_replies import (
    PendingEdit,
    acknowledgement_text,
    answer_blocks,
    answer_text,
    confirm_edit_blocks,
    confirm_edit_text,
    pending_value,
)
from bot.run_threads import start_request
from bot.services import BotServices
from core.conversation.intent import ReplyIntent, classify_reply
from core.kernel.errors import PermissionDenied
from core.usecases import Actor
from core.usecases.workflows import WorkflowFacts
from core.usecases.workflows import workflow_facts as facts_of


def reply_in_workflow_thread(
    services: BotServices,
    client: WebClient,
    *,
    team_id: str,
    user_id: str,
    channel_id: str,
    thread_ts: str,
    reply_ts: str,
    text: str,
    workflow_id: int,
    idempotency_key: str,
) -> None:
    """Act on a reply (or mention) in the thread of `workflow_id` by what it asks for."""
    intent = classify_reply(text)
    if intent.starts_edit:
        start_request(
            services,
            client,
            team_id=team_id,
            user_id=user_id,
            channel_id=channel_id,
            thread_ts=thread_ts,
            text=text,
            idempotency_key=idempotency_key,
            workflow_id=workflow_id,
        )
        return
    if intent is ReplyIntent.acknowledgement:
        client.chat_postEphemeral(
            channel=channel_id, user=user_id, thread_ts=thread_ts, text=acknowledgement_text()
        )
        return
    facts = workflow_facts(services, team_id=team_id, user_id=user_id, workflow_id=workflow_id)
    if intent is ReplyIntent.question:
        # Privately: a question in a shared thread may well be meant for a colleague.
        client.chat_postEphemeral(
            channel=channel_id,
            user=user_id,
            thread_ts=thread_ts,
            text=answer_text(facts),
            blocks=answer_blocks(facts),
        )
        return
    pending = PendingEdit(workflow_id, user_id, channel_id, thread_ts, reply_ts, text)
    client.chat_postEphemeral(
        channel=channel_id,
        user=user_id,
        thread_ts=thread_ts,
        text=confirm_edit_text(facts),
        blocks=confirm_edit_blocks(facts, text, pending_value(pending)),
    )


def confirm_pending_edit(
    services: BotServices, client: WebClient, *, team_id: str, user_id: str, pending: PendingEdit
) -> None:
    """The author said "Yes, change it": start the edit (once, however often they click)."""
    if pending.user_id != user_id:
        raise PermissionDenied("Only the person who wrote the reply can confirm this change.")
    start_request(
        services,
        client,
        team_id=team_id,
        user_id=user_id,
        channel_id=pending.channel_id,
        thread_ts=pending.thread_ts,
        text=pending.request,
        idempotency_key=f"slack:reply:{pending.channel_id}:{pending.reply_ts}",
        workflow_id=pending.workflow_id,
    )


def workflow_facts(
    services: BotServices, *, team_id: str, user_id: str, workflow_id: int
) -> WorkflowFacts:
    """What is known about the workflow, for anyone who may see it."""
    return facts_of(
        services.session_factory, actor=Actor(team_id, user_id), workflow_id=workflow_id
    )
