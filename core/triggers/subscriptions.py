"""Subscriptions: what the active version of each workflow listens to in Slack, kept equal to
what is active in n8n. A deploy (`core.deploy.deploy_version`: first deploy, edit, repair,
rollback) plans them before it stores anything (`plan`: the trigger checked, channel names
resolved, the creator's access checked with Slack — no transaction open) and replaces the
workflow's rows in the transaction that records the version n8n confirmed (`replace`);
deactivate and delete remove them (`unsubscribe`). A creator who leaves a channel (`member_left`)
or stops being an editor of the project (noticed when an event is matched, and by
`drop_lost_creators`, which the delivery worker runs every few minutes) has their subscriptions
there dropped, with a notice.

Who may listen where: editors only (the deploy already requires an editor); a channel its
creator is a member of (checked through `ChannelAccess`); never a direct message.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.orm import Session, sessionmaker

from core.kernel.errors import ClixenError, InvalidInput
from core.kernel.models import ProjectMember, TriggerSubscription, Workflow
from core.kernel.vocabulary import Role, WorkflowStatus
from core.triggers.access import ChannelAccess, ChannelKind
from core.triggers.notices import QUIET, SubscriptionDropped, TriggerNotifier, WorkflowRef
from core.triggers.spec import TriggerSpec

log = logging.getLogger(__name__)

ANYWHERE = ""
# Workflows that are active in n8n (and so listen).
ACTIVE_STATUSES = (WorkflowStatus.active, WorkflowStatus.needs_reconnect)


class SubscriptionRefused(ClixenError):
    """A Slack trigger may not listen where it asks to (the message says where and why)."""

    code = "subscription_refused"


@dataclass(frozen=True)
class TriggerPlan:
    """What a version with a Slack trigger will listen to once active: its trigger, the
    channels resolved to ids (empty: anywhere Clixen is), and whose access was checked."""

    spec: TriggerSpec
    channel_ids: tuple[str, ...]
    created_by: str


def plan(
    spec: TriggerSpec | None, *, user_id: str, access: ChannelAccess | None
) -> TriggerPlan | None:
    """The subscriptions `spec` asks for, checked for `user_id` (the deploying editor) through
    Slack. SubscriptionRefused names a channel that does not exist, a direct message, or a
    channel `user_id` is not a member of; InvalidInput when channels are named and this process
    cannot ask Slack (the CLI)."""
    if spec is None:
        return None
    if not spec.listens or not spec.channels:
        return TriggerPlan(spec, (), user_id)
    if access is None:
        raise InvalidInput(
            "This workflow's Slack trigger listens in channels, and only the Slack bot can check "
            "that you may read them: deploy it from Slack (or name no channels)."
        )
    ids: list[str] = []
    for ref in spec.channels:
        channel = access.channel(ref)
        if channel is None:
            shown = ref if ref[:1] in "CG" and ref[1:].isalnum() and ref.isupper() else f"#{ref}"
            raise SubscriptionRefused(
                f"There is no channel {shown[:80]} that Clixen can see. Check the name, and "
                "invite Clixen to it if it is private."
            )
        if channel.kind in (ChannelKind.im, ChannelKind.mpim):
            raise SubscriptionRefused(
                "A workflow never listens in direct messages; name a channel instead."
            )
        if not access.can_read(user_id, channel.id):
            raise SubscriptionRefused(
                f"You are not a member of #{channel.name}, so a workflow of yours cannot listen "
                "there. Join it (or ask a member of it to make this workflow)."
            )
        if not channel.clixen_in and not access.join(channel.id):
            raise SubscriptionRefused(
                f"Clixen is not in #{channel.name}, so Slack would send it nothing from there: "
                f"invite it (`/invite @Clixen` in #{channel.name}), then deploy again."
            )
        ids.append(channel.id)
    return TriggerPlan(spec, tuple(dict.fromkeys(ids)), user_id)


def replace(
    session: Session, *, workflow_id: int, team_id: str, plan: TriggerPlan | None, version: int
) -> None:
    """Make the workflow's subscriptions exactly `plan`'s (none when None), as of `version`, in
    the caller's transaction."""
    session.execute(
        delete(TriggerSubscription).where(TriggerSubscription.workflow_id == workflow_id)
    )
    if plan is None:
        return
    filters = plan.spec.filters()
    for event in plan.spec.listens:
        for channel in plan.channel_ids or (ANYWHERE,):
            session.add(
                TriggerSubscription(
                    workflow_id=workflow_id,
                    team_id=team_id,
                    event=event,
                    channel_id=channel,
                    filters=filters,
                    version=version,
                    created_by=plan.created_by,
                )
            )


def unsubscribe(session: Session, workflow_id: int) -> None:
    """The workflow listens to nothing any more (deactivated or deleted)."""
    session.execute(
        delete(TriggerSubscription).where(TriggerSubscription.workflow_id == workflow_id)
    )


def workflow_ref(wf: Workflow) -> WorkflowRef:
    return WorkflowRef(wf.id, wf.name, wf.project_id, wf.slack_channel_id, wf.slack_thread_ts)


def member_left(
    *,
    session_factory: sessionmaker[Session],
    team_id: str,
    user_id: str,
    channel_id: str,
    notifier: TriggerNotifier = QUIET,
) -> list[SubscriptionDropped]:
    """`user_id` left `channel_id`: every subscription they made there is dropped (the workflow
    stops listening there; its other subscriptions stay), each with a notice."""
    with session_factory.begin() as session:
        rows = session.execute(
            select(TriggerSubscription, Workflow)
            .join(Workflow, Workflow.id == TriggerSubscription.workflow_id)
            .where(
                TriggerSubscription.team_id == team_id,
                TriggerSubscription.channel_id == channel_id,
                TriggerSubscription.created_by == user_id,
            )
        ).all()
        dropped: dict[int, SubscriptionDropped] = {}
        for sub, wf in rows:
            session.delete(sub)
            dropped.setdefault(
                wf.id, SubscriptionDropped(workflow_ref(wf), channel_id, user_id, "left_channel")
            )
    for notice in dropped.values():
        log.info(
            "workflow %s stops listening in %s: creator left",
            notice.workflow.workflow_id,
            channel_id,
        )
        notifier.notify(notice)
    return list(dropped.values())


def drop_for_lost_role(
    session: Session, subs: list[tuple[TriggerSubscription, Workflow]]
) -> list[SubscriptionDropped]:
    """Drop these subscriptions (their creator is no longer an editor of the project)."""
    out: dict[tuple[int, str], SubscriptionDropped] = {}
    for sub, wf in subs:
        session.delete(sub)
        out.setdefault(
            (wf.id, sub.channel_id),
            SubscriptionDropped(workflow_ref(wf), sub.channel_id, sub.created_by, "left_project"),
        )
    return list(out.values())


def drop_lost_creators(
    *, session_factory: sessionmaker[Session], notifier: TriggerNotifier = QUIET
) -> list[SubscriptionDropped]:
    """Drop every subscription whose creator is no longer an editor of the workflow's project
    (removed, or now a viewer), each with a notice; the delivery worker runs it now and then,
    and matching an event does it on the spot."""
    editors = (Role.editor.name, Role.owner.name)
    with session_factory.begin() as session:
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
            .where(or_(ProjectMember.role.is_(None), ProjectMember.role.not_in(editors)))
        ).all()
        dropped = drop_for_lost_role(session, [(sub, wf) for sub, wf, _ in rows])
    for notice in dropped:
        notifier.notify(notice)
    return dropped
