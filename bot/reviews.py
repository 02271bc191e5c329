"""Review before live in Slack: each request is sent to the project's owners as a direct
message (the Block Kit of `bot.blocks.reviews`, the picture under it); Approve and Reject call
one use case each (`core.usecases.reviews`, which re-authorizes the clicking user) and the
requester is told in the workflow's thread either way.

Why a direct message to each owner and not the project's channel: only owners may decide, a
project has no channel of its own (its workflows report in many), and the request lists the
accounts and hosts a version uses — the owners' business, not every channel member's.
"""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks.reviews import (
    decision_text,
    review_request_blocks,
    review_request_text,
    waits_text,
)
from bot.pictures import upload_png
from bot.services import BotServices
from core.scheduler.reviews import ReviewRequest
from core.usecases import Actor
from core.usecases.reviews import ReviewDecision, announce, approve, reject

log = logging.getLogger(__name__)


def is_slack_user(user_id: str) -> bool:
    """A Slack user id (a CLI user, `cli:…`, has no Slack to be told in)."""
    return user_id[:1] in ("U", "W")


def show_review_request(client: WebClient, request: ReviewRequest) -> None:
    """The request in a direct message to each owner who is a Slack user, its picture under
    it (a picture that cannot be drawn or uploaded is logged; the text stands alone; an owner
    Slack refuses to reach is logged and skipped, the others still told)."""
    from core.graph import render_png  # Graphviz and Pillow load only when a picture is drawn

    try:
        png: bytes | None = render_png(request.picture)
    except Exception:
        log.warning("could not draw the picture of review %s", request.review_id, exc_info=True)
        png = None
    for owner in filter(is_slack_user, request.owners):
        try:
            response = client.chat_postMessage(
                channel=owner,
                text=review_request_text(request),
                blocks=review_request_blocks(request),
            )
        except SlackApiError:
            # One owner Slack will not reach (deactivated, app blocked) does not stop the others.
            log.warning("review %s: could not tell owner %s", request.review_id, owner)
            continue
        if png is not None:
            upload_png(
                client,
                channel=str(response.get("channel") or owner),
                thread_ts=str(response.get("ts") or "") or None,
                png=png,
                filename=f"workflow-{request.workflow_id}-v{request.version}-review.png",
                title=" ".join(request.picture.title),
                alt_text=" ".join(request.picture.caption),
            )


def announce_now(services: BotServices, client: WebClient, review_id: int) -> None:
    """Show the owners the request a create, an edit or a rollback just made (test-running it
    first when it can be); shown once, whoever gets to it first (the scheduler shows any
    this missed)."""
    announce(
        services.session_factory,
        n8n=services.n8n,
        settings=services.settings,
        review_id=review_id,
        show=lambda request: show_review_request(client, request),
    )


def tell_waiting(
    client: WebClient,
    *,
    channel: str | None,
    thread_ts: str | None,
    name: str,
    version: int,
    review_id: int,
    requested_by: str,
) -> str:
    """The line that says a version waits, in the workflow's thread (when it has one); returned
    for the requester's own reply."""
    text = waits_text(name=name, version=version, review_id=review_id, requested_by=requested_by)
    if channel:
        client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=text)
    return text


def approve_review(
    services: BotServices, *, team_id: str, user_id: str, review_id: int, digest: str | None
) -> ReviewDecision:
    return approve(
        services.session_factory,
        n8n=services.n8n,
        settings=services.settings,
        actor=Actor(team_id, user_id),
        review_id=review_id,
        digest=digest,
    )


def reject_review(
    services: BotServices, *, team_id: str, user_id: str, review_id: int, reason: str | None
) -> ReviewDecision:
    return reject(
        services.session_factory,
        actor=Actor(team_id, user_id),
        review_id=review_id,
        reason=reason,
    )


def tell_requester(client: WebClient, decision: ReviewDecision) -> str:
    """What became of the request, in the workflow's thread (when it has one); returned for the
    deciding owner's own message."""
    text = decision_text(decision)
    if decision.channel:
        client.chat_postMessage(channel=decision.channel, thread_ts=decision.thread_ts, text=text)
    return text
