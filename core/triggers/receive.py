"""`receive_event`: a verified Slack event in, deliveries enqueued out, in one short transaction
and no Slack or n8n call, so the Slack ack stays fast (a `DeliveryWorker` sends them).

Refused or ignored before anything is stored: an event of another workspace (or, in a shared
channel, by a user of another workspace), anything in a direct message, Clixen's own messages and
reactions, edits and deletions, bot messages and thread replies unless the trigger asks for them.
Then each active workflow subscribed to the event's kind in its channel (or anywhere) whose
filters match gets one delivery row, unique by (event id, workflow): Slack's retries and a second
replica receiving the same event insert nothing. A workflow past its rate limit gets nothing
more this minute (one `RateLimited` notice); with `trigger_max_pending` deliveries waiting, new
ones are refused (`OutboxFull`). A subscription whose creator is no longer an editor of the
project is dropped on the spot (`SubscriptionDropped`).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from core.kernel import metrics
from core.kernel.models import (
    ProcessedAction,
    ProjectMember,
    TriggerDelivery,
    TriggerSubscription,
    Workflow,
    utcnow,
)
from core.kernel.settings import Settings
from core.kernel.vocabulary import Role
from core.triggers.notices import (
    QUIET,
    OutboxFull,
    RateLimited,
    SubscriptionDropped,
    TriggerNotice,
    TriggerNotifier,
)
from core.triggers.payload import event_payload
from core.triggers.spec import text_matches
from core.triggers.subscriptions import (
    ACTIVE_STATUSES,
    ANYWHERE,
    drop_for_lost_role,
    member_left,
    workflow_ref,
)

log = logging.getLogger(__name__)

LISTENED = ("message", "reaction_added", "member_joined_channel")
# Message subtypes that are someone posting something (the rest: edits, deletions, joins…).
_POSTED_SUBTYPES = frozenset({"", "thread_broadcast", "file_share", "me_message", "bot_message"})
_EDITORS = (Role.editor.name, Role.owner.name)


@dataclass(frozen=True)
class SlackEnvelope:
    """A Slack event whose signature the front end verified (Bolt / `bot/server.py`).

    `app_team_id`: the workspace Clixen is installed in (events of any other are refused);
    `own_user_id` / `own_bot_id`: Clixen's bot user and bot, whose messages never trigger."""

    team_id: str
    event_id: str
    event: Mapping[str, Any]
    retry_num: int = 0
    app_team_id: str | None = None
    own_user_id: str | None = None
    own_bot_id: str | None = None


class ReceiveStatus(StrEnum):
    enqueued = "enqueued"  # at least one delivery stored
    duplicate = "duplicate"  # matched, but every delivery was stored before (a retry, a replica)
    no_match = "no_match"  # no active subscription matches
    ignored = "ignored"  # not an event a trigger listens to (an edit, a DM, Clixen's own…)
    refused = "refused"  # another workspace, or a flood past the limits


@dataclass(frozen=True)
class Received:
    """What became of one event; `deliveries`: the ids of the deliveries stored now."""

    status: ReceiveStatus
    deliveries: tuple[int, ...] = ()
    reason: str = ""
    notices: tuple[TriggerNotice, ...] = ()


def receive_event(
    envelope: SlackEnvelope,
    *,
    session_factory: sessionmaker[Session],
    settings: Settings,
    notifier: TriggerNotifier = QUIET,
    now: dt.datetime | None = None,
) -> Received:
    """Match one verified Slack event against the active subscriptions and enqueue a delivery
    per matching workflow (see the module docstring). Never calls Slack or n8n; notices go to
    `notifier` after the transaction committed."""
    event = envelope.event
    kind = str(event.get("type") or "")
    if envelope.app_team_id and envelope.team_id != envelope.app_team_id:
        metrics.TRIGGER_EVENTS.labels(status=ReceiveStatus.refused).inc()
        return Received(ReceiveStatus.refused, reason="another workspace")
    if kind == "member_left_channel":
        dropped = _drop_subscriptions_of_leaver(envelope, session_factory, notifier)
        return Received(ReceiveStatus.ignored, reason="member left", notices=tuple(dropped))
    why = _ignored(envelope)
    if why:
        metrics.TRIGGER_EVENTS.labels(status=ReceiveStatus.ignored).inc()
        return Received(ReceiveStatus.ignored, reason=why)
    payload_of = _payload_factory(envelope)
    channel = str(payload_of(0)["channel_id"])
    now = now or utcnow()
    notices: list[TriggerNotice] = []
    with session_factory.begin() as session:
        matching = _matching_workflows(session, envelope, kind, channel, notices)
        if not matching:
            status = ReceiveStatus.no_match
            stored: list[int] = []
        else:
            stored, status = _enqueue(
                session, envelope, matching, payload_of, settings, now, notices
            )
    metrics.TRIGGER_EVENTS.labels(status=status).inc()
    for notice in notices:
        notifier.notify(notice)
    return Received(status, tuple(stored), notices=tuple(notices))


def _drop_subscriptions_of_leaver(
    envelope: SlackEnvelope, session_factory: sessionmaker[Session], notifier: TriggerNotifier
) -> list[SubscriptionDropped]:
    """A member left a channel: drop the subscriptions they made there (notices of each)."""
    event = envelope.event
    return member_left(
        session_factory=session_factory,
        team_id=envelope.team_id,
        user_id=str(event.get("user") or ""),
        channel_id=str(event.get("channel") or ""),
        notifier=notifier,
    )


def _matching_workflows(
    session: Session,
    envelope: SlackEnvelope,
    kind: str,
    channel: str,
    notices: list[TriggerNotice],
) -> dict[int, tuple[TriggerSubscription, Workflow]]:
    """Workflow id → (subscription, workflow) of each active workflow listening to `kind` in
    `channel` (or anywhere) whose filters match; subscriptions whose creator is no longer an
    editor are dropped (their notices added to `notices`)."""
    rows = session.execute(
        select(TriggerSubscription, Workflow, ProjectMember.role)
        .join(Workflow, Workflow.id == TriggerSubscription.workflow_id)
        .outerjoin(
            ProjectMember,
            and_(
                ProjectMember.project_id == Workflow.project_id,
                ProjectMember.user_id == TriggerSubscription.created_by,
            ),
        )
        .where(
            TriggerSubscription.team_id == envelope.team_id,
            TriggerSubscription.event == kind,
            TriggerSubscription.channel_id.in_((channel, ANYWHERE)),
            Workflow.status.in_(ACTIVE_STATUSES),
        )
    ).all()
    lost = [(s, w) for s, w, role in rows if role not in _EDITORS]
    if lost:
        notices.extend(drop_for_lost_role(session, lost))
    matching: dict[int, tuple[TriggerSubscription, Workflow]] = {}
    for sub, wf, role in rows:
        if role in _EDITORS and _filters_match(sub.filters, envelope):
            matching.setdefault(wf.id, (sub, wf))
    return matching


def _enqueue(
    session: Session,
    envelope: SlackEnvelope,
    matching: dict[int, tuple[TriggerSubscription, Workflow]],
    payload_of: Any,
    settings: Settings,
    now: dt.datetime,
    notices: list[TriggerNotice],
) -> tuple[list[int], ReceiveStatus]:
    """The ids of the deliveries stored for the matching workflows, within the outbox's and
    each workflow's rate limit, and what became of the event."""
    ids = sorted(matching)
    pending, recent = _pending_and_recent(session, ids, now)
    if pending >= settings.trigger_max_pending:
        if _first_in_window(session, f"trigger-outbox-full:{_minute(now)}"):
            notices.append(OutboxFull(pending))
        log.warning(
            "trigger outbox full (%s pending): event %s refused", pending, envelope.event_id
        )
        return [], ReceiveStatus.refused
    limit = settings.trigger_rate_per_min
    stored: list[int] = []
    limited = 0
    for wf_id, (sub, wf) in sorted(matching.items()):
        if recent.get(wf_id, 0) >= limit:
            limited += 1
            if _first_in_window(session, f"trigger-rate:{wf_id}:{_minute(now)}"):
                notices.append(RateLimited(workflow_ref(wf), limit))
            continue
        new_id = _store_delivery(session, envelope, wf_id, sub, payload_of(wf_id), now)
        if new_id is not None:
            stored.append(int(new_id))
    if stored:
        return stored, ReceiveStatus.enqueued
    if limited == len(matching):
        return [], ReceiveStatus.refused
    return [], ReceiveStatus.duplicate


def _pending_and_recent(
    session: Session, ids: list[int], now: dt.datetime
) -> tuple[int, dict[int, int]]:
    """Deliveries waiting in all, and per workflow of `ids` those stored this minute: one query
    for both limits."""
    since = now - dt.timedelta(minutes=1)
    counts = session.execute(
        select(
            func.count().filter(TriggerDelivery.status == "pending"),
            *(
                func.count().filter(
                    and_(TriggerDelivery.workflow_id == wf_id, TriggerDelivery.created_at > since)
                )
                for wf_id in ids
            ),
        ).where(
            or_(
                TriggerDelivery.status == "pending",
                and_(TriggerDelivery.workflow_id.in_(ids), TriggerDelivery.created_at > since),
            )
        )
    ).one()
    recent = {wf_id: int(n or 0) for wf_id, n in zip(ids, counts[1:], strict=True)}
    return int(counts[0] or 0), recent


def _store_delivery(
    session: Session,
    envelope: SlackEnvelope,
    workflow_id: int,
    sub: TriggerSubscription,
    payload: dict[str, Any],
    now: dt.datetime,
) -> int | None:
    """The id of the delivery stored for the workflow; None when this event was delivered to
    it before (a retry, another replica)."""
    values = {
        "event_id": envelope.event_id[:128],
        "workflow_id": workflow_id,
        "team_id": envelope.team_id,
        "kind": str(envelope.event.get("type")),
        "payload": payload,
        "enriched": False,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
        # "Anywhere" listens only where its creator can read: checked at delivery.
        "check_reader": sub.created_by if sub.channel_id == ANYWHERE else None,
    }
    return session.execute(
        insert_for(session)(TriggerDelivery)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["event_id", "workflow_id"])
        .returning(TriggerDelivery.id)
    ).scalar_one_or_none()


def insert_for(session: Session) -> Any:
    """The dialect's INSERT (with ON CONFLICT DO NOTHING)."""
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def _first_in_window(session: Session, key: str) -> bool:
    """True for the first caller of `key` (one notice per window, across replicas)."""
    done = session.execute(
        insert_for(session)(ProcessedAction)
        .values(key=key[:200], result={})
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(ProcessedAction.key)
    ).scalar_one_or_none()
    return done is not None


def _minute(now: dt.datetime) -> str:
    return now.strftime("%Y%m%d%H%M")


def _payload_factory(envelope: SlackEnvelope) -> Any:
    def payload_of(workflow_id: int) -> dict[str, Any]:
        return event_payload(
            envelope.event,
            team_id=envelope.team_id,
            event_id=envelope.event_id,
            workflow_id=workflow_id,
        )

    return payload_of


def _ignored(envelope: SlackEnvelope) -> str:
    """Why this event never triggers anything ("" when it may)."""
    event = envelope.event
    kind = str(event.get("type") or "")
    if kind not in LISTENED:
        return f"not listened to ({kind[:40]})"
    if not envelope.event_id:
        return "no event id"
    user = event.get("user")
    if envelope.own_user_id and user == envelope.own_user_id:
        return "Clixen's own"
    if envelope.own_bot_id and event.get("bot_id") == envelope.own_bot_id:
        return "Clixen's own"
    # A user of another workspace (a shared channel): their messages are not this workspace's.
    for key in ("user_team", "team"):
        other = event.get(key)
        if isinstance(other, str) and other and other != envelope.team_id:
            return "a user of another workspace"
    if kind == "reaction_added":
        item = event.get("item")
        if not isinstance(item, Mapping) or item.get("type") != "message":
            return "a reaction to something other than a message"
        channel = str(item.get("channel") or "")
    else:
        channel = str(event.get("channel") or "")
    if not channel or channel.startswith("D") or event.get("channel_type") in ("im", "mpim"):
        return "a direct message"
    if kind == "message":
        subtype = str(event.get("subtype") or "")
        if subtype not in _POSTED_SUBTYPES:
            return f"a message {subtype[:40]}"
        if event.get("hidden"):
            return "a hidden message"
    return ""


def _filters_match(filters: Mapping[str, Any], envelope: SlackEnvelope) -> bool:
    event = envelope.event
    kind = event.get("type")
    if kind == "reaction_added":
        emoji = [str(e) for e in filters.get("emoji") or []]
        reaction = str(event.get("reaction") or "").split("::", 1)[0]  # skin tones: same emoji
        return not emoji or reaction in emoji
    if kind == "message":
        is_bot = bool(event.get("bot_id")) or event.get("subtype") == "bot_message"
        if is_bot and not filters.get("include_bots"):
            return False
        thread_ts, ts = event.get("thread_ts"), event.get("ts")
        is_reply = (
            bool(thread_ts) and thread_ts != ts and event.get("subtype") != "thread_broadcast"
        )
        if is_reply and not filters.get("include_thread_replies"):
            return False
        return text_matches(filters, str(event.get("text") or ""))
    return True
