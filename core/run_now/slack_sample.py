"""The sample a test run of a workflow that starts from Slack emits (`clixen test`, the Test run
button): the last real event it received — its stored, enriched payload — when there is one,
so the test sees a real message; else a sample in the same shape (every payload field,
`kind` "test", a sample text, the trigger's first channel when it names an id)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.kernel.models import Project, TriggerDelivery, Workflow
from core.kernel.slack_trigger import SLACK_TRIGGER_TYPE
from core.triggers.payload import PayloadKind, empty_payload

SAMPLE_TEXT = "A sample message from Clixen's test run"
# What Slack sent: the events a trigger listens to (runs by hand and earlier tests left out).
REAL_KINDS = (
    PayloadKind.message,
    PayloadKind.reaction_added,
    PayloadKind.member_joined_channel,
)


def _trigger(workflow: Mapping[str, Any]) -> Mapping[str, Any] | None:
    for node in workflow.get("nodes") or []:
        if (
            isinstance(node, Mapping)
            and node.get("type") == SLACK_TRIGGER_TYPE
            and not node.get("disabled")
        ):
            return node
    return None


def slack_sample(
    session: Session, *, workflow_id: int, workflow: Mapping[str, Any]
) -> dict[str, Any] | None:
    """The sample for a test run of `workflow` (see the module docstring); None when it has no
    Slack trigger."""
    trigger = _trigger(workflow)
    if trigger is None:
        return None
    params = trigger.get("parameters") or {}
    events = [str(e) for e in params.get("events") or [] if isinstance(e, str)]
    listened = [k for k in REAL_KINDS if k.value in events]
    if listened:
        last = session.scalar(
            select(TriggerDelivery)
            .where(
                TriggerDelivery.workflow_id == workflow_id,
                TriggerDelivery.kind.in_([str(k) for k in listened]),
                TriggerDelivery.enriched.is_(True),
            )
            .order_by(TriggerDelivery.id.desc())
            .limit(1)
        )
        if last is not None:
            return {**last.payload, "event_id": f"test:{last.event_id}"[:128]}
    wf = session.get(Workflow, workflow_id)
    project = session.get(Project, wf.project_id) if wf is not None else None
    team_id = project.team_id if project is not None else ""
    sample = empty_payload(
        str(PayloadKind.test), team_id=team_id, event_id="test", workflow_id=workflow_id
    )
    channels = [c for c in params.get("channels") or [] if isinstance(c, str)]
    if channels and channels[0][:1] in ("C", "G") and channels[0].isupper():
        sample["channel_id"] = channels[0]
    elif channels:
        sample["channel_name"] = channels[0].lstrip("#")
    emoji = [e for e in params.get("emoji") or [] if isinstance(e, str)]
    sample.update(
        text=SAMPLE_TEXT,
        user_id="U0SAMPLE",
        user_name="sample.user",
        ts="1700000000.000100",
        reaction=emoji[0].strip(":") if emoji else "",
    )
    sample["message"] = {**sample["message"], "text": SAMPLE_TEXT, "ts": sample["ts"]}
    return sample
