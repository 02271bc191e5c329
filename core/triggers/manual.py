"""Runs by hand and what the Slack surface lists.

- `run_by_hand(actor, workflow_id, …)` — `/clixen run WORKFLOW [text]` (`command`), the message
  shortcut "Run a workflow on this message" (`shortcut`), the Run button (`button`): an editor of
  the project runs an active workflow whose Slack trigger has `manual` among its events (the
  shortcut: `accepts_message`). Its declared inputs are checked first: a required one missing
  answers `needs_inputs` with the fields, so the front end opens a modal and calls again. The run
  is one delivery in the outbox (the same worker, retries and notices as events), unique by
  `request_id` (a Slack retry or a double click runs it once).
- `declared_inputs`, `workflows_accepting_message`, `triggers_in_channel`, `triggers_of_project`:
  what the modal, the shortcut's picker, `/clixen triggers` and App Home show.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from core.kernel.errors import InvalidInput, NotFound
from core.kernel.models import (
    TriggerDelivery,
    TriggerSubscription,
    Workflow,
    WorkflowVersion,
    utcnow,
)
from core.kernel.vocabulary import Role
from core.triggers.payload import MAX_TEXT, PayloadKind, empty_payload
from core.triggers.receive import insert_for
from core.triggers.spec import InputField, TriggerSpec, trigger_of
from core.triggers.subscriptions import ACTIVE_STATUSES, ANYWHERE
from core.workspace.projects import Actor, require_role

MAX_INPUT_VALUE = 3_000
HAND_SOURCES = (PayloadKind.command, PayloadKind.shortcut, PayloadKind.button, PayloadKind.test)


@dataclass(frozen=True)
class MessageRef:
    """The message a shortcut was used on."""

    channel_id: str
    ts: str
    text: str
    user_id: str
    permalink: str = ""


class HandRunStatus(StrEnum):
    enqueued = "enqueued"
    needs_inputs = "needs_inputs"


@dataclass(frozen=True)
class HandRun:
    """What a run by hand became: `enqueued` (its delivery id) or `needs_inputs` (`missing`: the
    required inputs not given; `inputs`: every declared one, for the modal)."""

    status: HandRunStatus
    workflow_id: int
    workflow_name: str
    delivery_id: int | None = None
    missing: tuple[InputField, ...] = ()
    inputs: tuple[InputField, ...] = ()


def _head_trigger(session: Session, wf: Workflow) -> TriggerSpec | None:
    if wf.head_version == 0:
        return None
    version = session.scalar(
        select(WorkflowVersion).where(
            WorkflowVersion.workflow_id == wf.id, WorkflowVersion.version == wf.head_version
        )
    )
    return trigger_of(version.json_payload) if version is not None else None


def _workflow(session: Session, actor: Actor, workflow_id: int, at_least: Role) -> Workflow:
    wf = session.get(Workflow, workflow_id)
    if wf is None:
        raise NotFound("That workflow does not exist.")
    require_role(
        session=session,
        project_id=wf.project_id,
        team_id=actor.team_id,
        user_id=actor.user_id,
        at_least=at_least,
    )
    return wf


def declared_inputs(
    *, session_factory: sessionmaker[Session], actor: Actor, workflow_id: int
) -> tuple[InputField, ...]:
    """The inputs the workflow's active version asks for before a run by hand."""
    with session_factory() as session:
        spec = _head_trigger(session, _workflow(session, actor, workflow_id, Role.viewer))
    return spec.inputs if spec is not None else ()


def run_by_hand(
    *,
    session_factory: sessionmaker[Session],
    actor: Actor,
    workflow_id: int,
    source: PayloadKind,
    request_id: str,
    text: str = "",
    inputs: Mapping[str, str] | None = None,
    channel_id: str = "",
    message: MessageRef | None = None,
    now: dt.datetime | None = None,
) -> HandRun:
    """Run the workflow now through its Slack trigger (see the module docstring). Raises
    PermissionDenied (not an editor), NotFound, InvalidInput (not active, no run by hand, a
    value too long)."""
    if source not in HAND_SOURCES:
        raise InvalidInput(f"A run by hand comes from {', '.join(HAND_SOURCES)}.")
    if len(text) > MAX_TEXT:
        raise InvalidInput(f"The text of a run can be at most {MAX_TEXT} characters.")
    now = now or utcnow()
    with session_factory.begin() as session:
        wf = _workflow(session, actor, workflow_id, Role.editor)
        spec = _runnable_trigger(session, wf, source)
        given = _given_inputs(spec, inputs)
        missing = tuple(
            f for f in spec.inputs if f.required and not (given.get(f.name) or "").strip()
        )
        if missing:
            return HandRun(
                HandRunStatus.needs_inputs, wf.id, wf.name, missing=missing, inputs=spec.inputs
            )
        event_id = f"{source}:{request_id}"[:128]
        payload: dict[str, Any] = empty_payload(
            str(source), team_id=actor.team_id, event_id=event_id, workflow_id=wf.id
        )
        payload.update(user_id=actor.user_id, text=text, channel_id=channel_id, inputs=given)
        if message is not None:
            _add_message(payload, message)
        delivery_id = _enqueue_once(
            session,
            wf,
            team_id=actor.team_id,
            source=source,
            event_id=event_id,
            payload=payload,
            now=now,
        )
        return HandRun(
            HandRunStatus.enqueued, wf.id, wf.name, delivery_id=delivery_id, inputs=spec.inputs
        )


def _runnable_trigger(session: Session, wf: Workflow, source: PayloadKind) -> TriggerSpec:
    """The Slack trigger of the workflow's active version, if it can be run from `source`;
    InvalidInput saying what is missing otherwise."""
    spec = _head_trigger(session, wf)
    if wf.status not in ACTIVE_STATUSES or spec is None:
        raise InvalidInput(
            f"{wf.name!r} is not a running workflow with a Slack trigger; deploy it first."
        )
    ok = spec.accepts_message if source == PayloadKind.shortcut else "manual" in spec.events
    if not ok:
        what = "run on a message" if source == PayloadKind.shortcut else "run by hand"
        raise InvalidInput(
            f"{wf.name!r} is not made to be {what}: its Slack trigger would need "
            + ("`accepts_message`." if source == PayloadKind.shortcut else '"manual" in `events`.')
        )
    return spec


def _given_inputs(spec: TriggerSpec, inputs: Mapping[str, str] | None) -> dict[str, str]:
    """The values given for inputs the trigger declares (others are dropped); InvalidInput for
    a value that is not a short text."""
    given = {k: v for k, v in (inputs or {}).items() if any(f.name == k for f in spec.inputs)}
    for name, value in given.items():
        if not isinstance(value, str) or len(value) > MAX_INPUT_VALUE:
            raise InvalidInput(f"Input {name!r} can be a text of at most {MAX_INPUT_VALUE}.")
    return given


def _add_message(payload: dict[str, Any], message: MessageRef) -> None:
    """The message a shortcut was used on, in the payload (its text when none was typed)."""
    payload["channel_id"] = message.channel_id
    payload["message"] = {
        "text": message.text[:MAX_TEXT],
        "ts": message.ts,
        "user_id": message.user_id,
        "permalink": message.permalink,
    }
    payload["text"] = payload["text"] or message.text[:MAX_TEXT]
    payload["ts"], payload["permalink"] = message.ts, message.permalink


def _enqueue_once(
    session: Session,
    wf: Workflow,
    *,
    team_id: str,
    source: PayloadKind,
    event_id: str,
    payload: dict[str, Any],
    now: dt.datetime,
) -> int | None:
    """The id of the delivery for `event_id`: stored now, or the one stored when the same
    request came before."""
    new_id = session.execute(
        insert_for(session)(TriggerDelivery)
        .values(
            event_id=event_id,
            workflow_id=wf.id,
            team_id=team_id,
            kind=str(source),
            payload=payload,
            enriched=False,
            status="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["event_id", "workflow_id"])
        .returning(TriggerDelivery.id)
    ).scalar_one_or_none()
    if new_id is None:  # the same request again: the first one's delivery
        new_id = session.scalar(
            select(TriggerDelivery.id).where(
                TriggerDelivery.event_id == event_id, TriggerDelivery.workflow_id == wf.id
            )
        )
    return new_id


@dataclass(frozen=True)
class WorkflowChoice:
    workflow_id: int
    name: str


def workflows_accepting_message(
    *, session_factory: sessionmaker[Session], actor: Actor, project_id: int
) -> list[WorkflowChoice]:
    """The project's active workflows the message shortcut can run (`accepts_message`)."""
    with session_factory() as session:
        require_role(
            session=session,
            project_id=project_id,
            team_id=actor.team_id,
            user_id=actor.user_id,
            at_least=Role.editor,
        )
        out = []
        for wf in session.scalars(
            select(Workflow)
            .where(Workflow.project_id == project_id, Workflow.status.in_(ACTIVE_STATUSES))
            .order_by(Workflow.name)
        ):
            spec = _head_trigger(session, wf)
            if spec is not None and spec.accepts_message:
                out.append(WorkflowChoice(wf.id, wf.name))
        return out


@dataclass(frozen=True)
class TriggerListing:
    """One workflow that listens: to what, where (channel ids; "" = anywhere Clixen is), made by
    whom, how many events it lost in the last week (gave up) and why the last one was lost."""

    workflow_id: int
    name: str
    project_id: int
    events: tuple[str, ...]
    channels: tuple[str, ...]
    emoji: tuple[str, ...]
    created_by: str
    lost_last_week: int = 0
    last_lost_reason: str = ""


def _listings(
    session: Session, rows: list[tuple[TriggerSubscription, Workflow]], now: dt.datetime
) -> list[TriggerListing]:
    by_wf: dict[int, list[tuple[TriggerSubscription, Workflow]]] = {}
    for sub, wf in rows:
        by_wf.setdefault(wf.id, []).append((sub, wf))
    lost = dict(
        session.execute(
            select(TriggerDelivery.workflow_id, func.count())
            .where(
                TriggerDelivery.workflow_id.in_(list(by_wf)),
                TriggerDelivery.status == "gave_up",
                TriggerDelivery.created_at > now - dt.timedelta(days=7),
            )
            .group_by(TriggerDelivery.workflow_id)
        ).all()
    )
    reasons: dict[int, str] = {}
    for wf_id, reason in session.execute(
        select(TriggerDelivery.workflow_id, TriggerDelivery.last_error)
        .where(TriggerDelivery.workflow_id.in_(list(lost)), TriggerDelivery.status == "gave_up")
        .order_by(TriggerDelivery.id)
    ):
        reasons[wf_id] = reason or ""
    out = []
    for wf_id, subs in by_wf.items():
        wf = subs[0][1]
        out.append(
            TriggerListing(
                workflow_id=wf_id,
                name=wf.name,
                project_id=wf.project_id,
                events=tuple(dict.fromkeys(s.event for s, _ in subs)),
                channels=tuple(dict.fromkeys(s.channel_id for s, _ in subs)),
                emoji=tuple(
                    dict.fromkeys(e for s, _ in subs for e in s.filters.get("emoji") or [])
                ),
                created_by=subs[0][0].created_by,
                lost_last_week=int(lost.get(wf_id, 0)),
                last_lost_reason=reasons.get(wf_id, ""),
            )
        )
    return sorted(out, key=lambda t: (t.name.lower(), t.workflow_id))


def triggers_in_channel(
    *, session_factory: sessionmaker[Session], actor: Actor, channel_id: str
) -> list[TriggerListing]:
    """Every workflow of the workspace that listens in `channel_id` (or anywhere Clixen is):
    what the channel's members may see, whatever project it belongs to."""
    with session_factory() as session:
        rows = session.execute(
            select(TriggerSubscription, Workflow)
            .join(Workflow, Workflow.id == TriggerSubscription.workflow_id)
            .where(
                TriggerSubscription.team_id == actor.team_id,
                TriggerSubscription.channel_id.in_((channel_id, ANYWHERE)),
                Workflow.status.in_(ACTIVE_STATUSES),
            )
        ).all()
        return _listings(session, [(s, w) for s, w in rows], utcnow())


def triggers_of_project(
    *, session_factory: sessionmaker[Session], actor: Actor, project_id: int
) -> list[TriggerListing]:
    """Every workflow of the project that listens in Slack (App Home), for its members."""
    with session_factory() as session:
        require_role(
            session=session,
            project_id=project_id,
            team_id=actor.team_id,
            user_id=actor.user_id,
            at_least=Role.viewer,
        )
        rows = session.execute(
            select(TriggerSubscription, Workflow)
            .join(Workflow, Workflow.id == TriggerSubscription.workflow_id)
            .where(Workflow.project_id == project_id, Workflow.status.in_(ACTIVE_STATUSES))
        ).all()
        return _listings(session, [(s, w) for s, w in rows], utcnow())
