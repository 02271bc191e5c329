"""Review before live in Slack (pure builders): the review request an owner gets, with Approve
(confirmed) and Reject… buttons; the line the requester's thread gets when a version waits and
when it is decided; the reject form (an optional reason); the audit lines of the versions view.

A button carries the review's id and the start of the version's digest, nothing else: core
re-authorizes the clicking user and checks the digest against what it stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.blocks.common import (
    Block,
    actions,
    button,
    confirm_dialog,
    context,
    divider,
    escape,
    header,
    plain,
    section,
)
from bot.blocks.versions import diff_lines
from core.kernel.vocabulary import ReviewState
from core.scheduler.reviews import ReviewRequest, ReviewTestRun
from core.usecases.reviews import ReviewDecision, ReviewRow

APPROVE_ACTION = "review_approve"
REJECT_ACTION = "review_reject"
REJECT_CALLBACK = "review_reject_submit"

_SOURCE_WORDS = {
    "generate": "a new workflow",
    "edit": "an edit",
    "repair": "an automatic repair",
    "rollback": "a rollback",
    "import": "a deploy of a given file",
}
_TEST_EMOJI = {"success": ":white_check_mark:", "error": ":x:", "not_run": ":warning:"}
_STATE_EMOJI = {
    ReviewState.pending: ":hourglass_flowing_sand:",
    ReviewState.approved: ":white_check_mark:",
    ReviewState.rejected: ":no_entry:",
    ReviewState.outdated: ":fast_forward:",
    ReviewState.failed: ":x:",
}


def who(user_id: str) -> str:
    """A Slack mention for a Slack user, the plain id for a CLI user."""
    return escape(user_id) if user_id.startswith("cli:") else f"<@{escape(user_id)}>"


def review_value(review_id: int, digest: str) -> str:
    return f"{review_id}:{digest}"


def parse_review_value(value: str) -> tuple[int, str | None]:
    """(review id, digest or None) from a button value or a modal's metadata (untrusted:
    ValueError when it is not one of ours)."""
    rid, _, digest = value.partition(":")
    return int(rid), (digest or None)


def _test_line(test: ReviewTestRun) -> str:
    emoji = _TEST_EMOJI.get(test.status, ":grey_question:")
    if test.status == "success":
        return f"{emoji} Test run on a test copy: succeeded."
    if test.status == "not_run":
        return f"{emoji} {escape(test.message[:1].upper() + test.message[1:])}"
    where = f" at *{escape(test.node)}*" if test.node else ""
    return f"{emoji} Test run on a test copy: {escape(test.status)}{where}. {escape(test.message)}"


def review_request_blocks(request: ReviewRequest) -> list[Block]:
    """What an owner decides on: what is asked and by whom, the diff against live, the test
    run, the accounts and every host it will reach; Approve (confirmed) and Reject…"""
    what = _SOURCE_WORDS.get(request.source, request.source)
    live = f"v{request.live_version} is live" if request.live_version else "nothing is live yet"
    if request.diff is None:
        changes = [f"a new workflow of {request.node_count} nodes (its picture is below)"]
    else:
        changes = diff_lines(request.diff)
    accounts = ", ".join(escape(a) for a in request.accounts) or "none"
    hosts = ", ".join(escape(h) for h in request.hosts) or "none (it calls no outside host)"
    value = review_value(request.review_id, request.digest)
    against = f"v{request.live_version} (live)" if request.live_version else "nothing live"
    return [
        header(f"Review: {request.name} v{request.version}"),
        section(
            f"{who(request.requested_by)} asks to make *{escape(request.name)}* "
            f"v{request.version} live ({what}) in project *{escape(request.project)}*; "
            f"{live}. Nothing changes in n8n until an owner approves."
        ),
        section(
            f"*Changes against {against}*\n" + "\n".join(f"• {escape(line)}" for line in changes)
        ),
        section(_test_line(request.test_run)),
        section(f"*Accounts it uses:* {accounts}\n*Hosts it will reach:* {hosts}"),
        context(
            f"Review #{request.review_id} · version digest `{escape(request.digest)}` · asked "
            f"{request.requested_at:%Y-%m-%d %H:%M} UTC · approving deploys exactly this "
            "version; owners only"
        ),
        actions(
            button(
                "Approve",
                APPROVE_ACTION,
                value,
                style="primary",
                confirm={
                    **confirm_dialog(
                        "Make it live?",
                        f"v{request.version} of *{escape(request.name)}* is deployed and "
                        "activated in n8n exactly as shown.",
                        "Approve",
                    ),
                    "style": "primary",
                },
            ),
            button("Reject…", REJECT_ACTION, value, style="danger"),
            block_id=f"review:{request.review_id}",
        ),
    ]


def review_request_text(request: ReviewRequest) -> str:
    return f"Review: {request.name} v{request.version} waits for your approval"


def waits_text(*, name: str, version: int, review_id: int, requested_by: str | None) -> str:
    """The requester's thread: the version waits for an owner."""
    by = f" {who(requested_by)}:" if requested_by else ""
    return (
        f":hourglass_flowing_sand:{by} *{escape(name)}* v{version} waits for a project owner's "
        f"approval (review #{review_id}); nothing changed in n8n until then. You will hear "
        "here either way."
    )


def decision_text(decision: ReviewDecision) -> str:
    """The requester's thread (and the owner's message): what became of the request."""
    emoji = _STATE_EMOJI.get(decision.state, ":information_source:")
    base = (
        f"{emoji} {who(decision.requested_by)}: {who(decision.decided_by)} "
        f"{{verb}} *{escape(decision.name)}* v{decision.version} (review #{decision.review_id})"
    )
    reason = f" Reason: {escape(decision.reason)}" if decision.reason else ""
    if decision.state == ReviewState.approved:
        return base.format(verb="approved") + ": it is live in n8n now." + reason
    if decision.state == ReviewState.rejected:
        return (
            base.format(verb="rejected")
            + f". v{decision.live_version} stays live; nothing changed in n8n."
            + reason
            if decision.live_version
            else base.format(verb="rejected") + ". Nothing was deployed." + reason
        )
    if decision.state == ReviewState.outdated:
        return base.format(verb="could not approve") + f": {escape(decision.note)}"
    return base.format(verb="approved") + f", but n8n refused it: {escape(decision.note)}"


def decided_blocks(decision: ReviewDecision) -> list[Block]:
    """The owner's request message once decided: the buttons gone, the decision said."""
    return [section(decision_text(decision))]


def reject_modal(*, review_id: int, origin: str) -> dict[str, Any]:
    """The reject form: an optional reason for the requester. `origin`: "channel:ts" of the
    request message, shown decided afterwards."""
    return {
        "type": "modal",
        "callback_id": REJECT_CALLBACK,
        "private_metadata": f"{review_id}|{origin}",
        "title": plain("Reject version", 24),
        "submit": plain("Reject", 24),
        "close": plain("Cancel", 24),
        "blocks": [
            section(
                f"Reject review #{review_id}? Its version never goes live; what is live stays, "
                "and the requester is told in the workflow's thread."
            ),
            {
                "type": "input",
                "block_id": "reason",
                "optional": True,
                "label": plain("Reason (the requester sees it)"),
                "element": {
                    "type": "plain_text_input",
                    "action_id": "value",
                    "max_length": 300,
                    "multiline": True,
                },
            },
        ],
    }


def review_line(row: ReviewRow) -> str:
    """One audit line of the versions view: "⏳ v4 (an edit) asked by @bo · 2026-12-07 10:00 ·
    approved by @ada · 10:05"."""
    emoji = _STATE_EMOJI.get(row.state, ":information_source:")
    what = _SOURCE_WORDS.get(row.source, row.source)
    line = (
        f"{emoji} review #{row.review_id}: v{row.version} ({what}) asked by "
        f"{who(row.requested_by)} · {row.requested_at:%Y-%m-%d %H:%M}"
    )
    if row.state == ReviewState.pending:
        return line + " · waiting for an owner"
    when = f" · {row.decided_at:%Y-%m-%d %H:%M}" if row.decided_at else ""
    by = f" by {who(row.decided_by)}" if row.decided_by else ""
    reason = f" ({escape(row.reason)})" if row.reason else ""
    return line + f" · {row.state}{by}{when}{reason}"


def reviews_block(rows: Sequence[ReviewRow]) -> Block | None:
    """The review trail under the versions (newest first, last 10)."""
    if not rows:
        return None
    newest = sorted(rows, key=lambda r: r.review_id, reverse=True)[:10]
    return context("\n".join(review_line(r) for r in newest))


def setting_text(*, project: str, on: bool) -> str:
    if on:
        return (
            f":lock: Review before live is *on* in project *{escape(project)}*: every new version "
            "(create, edit, rollback, automatic repair) waits for an owner's approval. Turn it "
            "off with `/clixen review off`."
        )
    return (
        f"Review before live is *off* in project *{escape(project)}*: new versions go live "
        "when they pass their checks. Owners turn it on with `/clixen review on`."
    )


def pending_blocks(*, project: str, on: bool, rows: Sequence[ReviewRow]) -> list[Block]:
    """`/clixen review`: the setting and the requests waiting."""
    blocks = [section(setting_text(project=project, on=on))]
    waiting = [r for r in rows if r.state == ReviewState.pending]
    if waiting:
        blocks += [divider(), context("\n".join(review_line(r) for r in waiting[:20]))]
    return blocks
