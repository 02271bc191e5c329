"""What a deploy does about a workflow's Slack trigger (`core.deploy` calls these; a workflow
without one passes through untouched):

1. `prepare` — before the version is stored, no transaction open: the trigger checked
   (`spec`), where it listens checked with Slack for the deploying editor (`subscriptions.plan`),
   the workflow's endpoint and n8n credential made on first need (`endpoints`);
2. `Prepared.compile` — what n8n gets: the trigger compiled into its Webhook + Set pair;
3. `Prepared.activated` — once n8n confirmed the version: the subscriptions become the version's.

`compiled_head` gives n8n's form of an already stored version (restoring the last good version
after a failed update). Deactivate and delete call `subscriptions.unsubscribe`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from core.n8n import N8nClient
from core.triggers.access import installed
from core.triggers.compile import compile_for_n8n, has_trigger
from core.triggers.endpoints import Endpoint, endpoint_of, ensure_endpoint
from core.triggers.spec import trigger_of
from core.triggers.subscriptions import TriggerPlan, plan, sync


@dataclass(frozen=True)
class Prepared:
    """A deploy's trigger, planned: what it will listen to and where n8n's copy is called."""

    workflow_id: int
    plan: TriggerPlan | None
    endpoint: Endpoint | None

    def compile(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        return compile_for_n8n(payload, self.endpoint)

    def activated(
        self, *, session_factory: sessionmaker[Session], team_id: str, version: int
    ) -> None:
        sync(
            session_factory=session_factory,
            workflow_id=self.workflow_id,
            team_id=team_id,
            plan=self.plan,
            version=version,
        )


def prepare(
    *,
    session_factory: sessionmaker[Session],
    n8n: N8nClient,
    workflow_id: int,
    payload: Mapping[str, Any],
    user_id: str,
) -> Prepared:
    """The deploy's trigger, checked and planned (see the module docstring). Raises
    InvalidInput for a bad trigger node, SubscriptionRefused where it may not listen. Call it with
    no transaction open and after the deploying user was authorized as an editor."""
    spec = trigger_of(payload)
    if spec is None:
        return Prepared(workflow_id, None, None)
    planned = plan(spec, user_id=user_id, access=installed())
    endpoint = ensure_endpoint(session_factory=session_factory, n8n=n8n, workflow_id=workflow_id)
    return Prepared(workflow_id, planned, endpoint)


def compiled_head(session: Session, workflow_id: int, payload: Mapping[str, Any]) -> dict[str, Any]:
    """A stored version of the workflow as n8n holds it (its trigger compiled)."""
    if not has_trigger(payload):
        return dict(payload)
    return compile_for_n8n(payload, endpoint_of(session, workflow_id))
