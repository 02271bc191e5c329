"""What a deploy does about a workflow's Slack trigger (`core.deploy` calls these; a workflow
without one passes through untouched):

1. `prepare` — before the version is stored, no transaction open: the trigger checked
   (`spec`), where it listens checked with Slack for the deploying editor (`subscriptions.plan`);
2. `Prepared.for_n8n` — once the version passed the gate and was stored, no transaction open:
   the workflow's endpoint and n8n credential made on first need (`endpoints`; a version the
   validator refuses never creates one), and what n8n gets: the trigger compiled into its
   Webhook + Set pair;
3. `Prepared.activated` — once n8n confirmed the version, in the transaction that records it
   deployed: the subscriptions become the version's.

`compiled_head` gives n8n's form of an already stored version (restoring the last good version
after a failed update). Deactivate and delete call `subscriptions.unsubscribe`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from core.n8n import N8nClient
from core.triggers.access import installed
from core.triggers.compile import compile_for_n8n, has_trigger
from core.triggers.endpoints import endpoint_of, ensure_endpoint
from core.triggers.spec import trigger_of
from core.triggers.subscriptions import TriggerPlan, plan, replace


@dataclass(frozen=True)
class Prepared:
    """A deploy's trigger, planned: what it will listen to (None: nothing)."""

    workflow_id: int
    plan: TriggerPlan | None
    # CLIXEN_SECRET_KEY, which seals the webhook secret ("" for a workflow without a trigger).
    key: str = field(default="", repr=False)

    def for_n8n(
        self, *, session_factory: sessionmaker[Session], n8n: N8nClient, payload: Mapping[str, Any]
    ) -> dict[str, Any]:
        """`payload` as n8n must get it (see the module docstring); N8nError when n8n refuses
        the trigger's credential."""
        if not has_trigger(payload):
            return dict(payload)
        endpoint = ensure_endpoint(
            session_factory=session_factory, n8n=n8n, workflow_id=self.workflow_id, key=self.key
        )
        return compile_for_n8n(payload, endpoint)

    def activated(self, session: Session, *, team_id: str, version: int) -> None:
        """In the transaction that records `version` deployed: its subscriptions replace the
        workflow's (none when it has no trigger)."""
        replace(
            session, workflow_id=self.workflow_id, team_id=team_id, plan=self.plan, version=version
        )


def prepare(
    *, workflow_id: int, payload: Mapping[str, Any], user_id: str, key: Callable[[], str]
) -> Prepared:
    """The deploy's trigger, checked and planned (see the module docstring). Raises
    InvalidInput for a bad trigger node, SubscriptionRefused where it may not listen, and what
    `key` raises (asked for CLIXEN_SECRET_KEY only when there is a trigger: SettingsError when it
    is not set) — all before anything is stored. Call it with no transaction open and after the
    deploying user was authorized as an editor."""
    spec = trigger_of(payload)
    if spec is None:
        return Prepared(workflow_id, None)
    sealing_key = key()
    return Prepared(workflow_id, plan(spec, user_id=user_id, access=installed()), sealing_key)


def compiled_head(session: Session, workflow_id: int, payload: Mapping[str, Any]) -> dict[str, Any]:
    """A stored version of the workflow as n8n holds it (its trigger compiled)."""
    if not has_trigger(payload):
        return dict(payload)
    return compile_for_n8n(payload, endpoint_of(session, workflow_id))
