"""Approve and Reject… on a review request (review before live), and the reject form. The
review id (and digest) came from Slack: core re-authorizes the clicking user — an owner of the
review's project in the same workspace — and refuses anyone else, another workspace's id, a
missing one or one already decided, with a message saying which."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient

from bot.blocks.reviews import decided_blocks, parse_review_value, reject_modal
from bot.listeners.context import (
    SlackRequest,
    acked,
    on_run_worker,
    services_of,
    team_of,
    user_of,
)
from bot.reviews import approve_review, reject_review, tell_requester
from core.kernel.errors import InvalidInput


def _review(value: Any) -> tuple[int, str | None]:
    try:
        return parse_review_value(str(value))
    except (TypeError, ValueError) as e:
        raise InvalidInput("That button does not name a review.") from e


@acked(pool="runs")  # deploys to n8n: seconds
def handle_review_approve(request: SlackRequest) -> None:
    """Confirmed in Slack's dialog first. The request message shows the decision; the
    requester's thread is told."""
    review_id, digest = _review(request.payload.get("value"))
    done = approve_review(
        request.services,
        team_id=request.team,
        user_id=request.user,
        review_id=review_id,
        digest=digest,
    )
    tell_requester(request.client, done)
    request.reply(
        blocks=decided_blocks(done),
        text=f"Review #{done.review_id}: {done.state}",
        replace_original=True,
    )


@acked()
def handle_review_reject(request: SlackRequest) -> None:
    """Open the reject form (an optional reason); core checks the role when it is sent."""
    review_id, _ = _review(request.payload.get("value"))
    container = request.body.get("container") or {}
    origin = f"{container.get('channel_id') or ''}:{container.get('message_ts') or ''}"
    request.client.views_open(
        trigger_id=request.body["trigger_id"],
        view=reject_modal(review_id=review_id, origin=origin),
    )


def handle_review_reject_submission(
    ack: Ack, view: dict[str, Any], body: dict[str, Any], context: BoltContext, client: WebClient
) -> None:
    ack()
    metadata = str(view.get("private_metadata") or "")
    review_id, _ = _review(metadata.partition("|")[0])
    channel, _, ts = metadata.partition("|")[2].partition(":")
    values = ((view.get("state") or {}).get("values") or {}).get("reason", {})
    reason = str((values.get("value") or {}).get("value") or "").strip() or None
    team, user = team_of(context), user_of(context)

    def work() -> None:
        done = reject_review(
            services_of(context), team_id=team, user_id=user, review_id=review_id, reason=reason
        )
        text = tell_requester(client, done)
        if channel and ts:
            client.chat_update(channel=channel, ts=ts, blocks=decided_blocks(done), text=text)

    on_run_worker(context, body, client, work)
