"""What each API endpoint does, as plain functions of the shared dependencies (`ApiDeps`) and
already-parsed parameters: testable without HTTP. `api.app` parses requests and calls them.

Every handler authenticates the bearer token first; a token acts with its creator's rights in
its own project only, and anything of another project is "not found".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from core.kernel.settings import Settings
from core.n8n import N8nClient
from core.usecases import tokens
from core.usecases.tokens import TokenCaller
from core.workspace import api_tokens

if TYPE_CHECKING:
    from core.kernel.models import Workflow, WorkflowVersion

T = TypeVar("T")


@dataclass(frozen=True)
class ApiDeps:
    """What every handler shares. `n8n` is a client kept open, or `n8n_factory` makes one per
    call that needs n8n (closed after)."""

    session_factory: sessionmaker[Session]
    settings: Settings
    n8n: N8nClient | None = None
    n8n_factory: Callable[[], N8nClient] | None = None

    def __post_init__(self) -> None:
        if (self.n8n is None) == (self.n8n_factory is None):
            raise ValueError("pass exactly one of n8n or n8n_factory")

    def with_n8n(self, fn: Callable[[N8nClient], T]) -> T:
        if self.n8n is not None:
            return fn(self.n8n)
        assert self.n8n_factory is not None
        client = self.n8n_factory()
        try:
            return fn(client)
        finally:
            client.close()


# --- serialisation ----------------------------------------------------------------------------


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def workflow_json(wf: Workflow) -> dict[str, Any]:
    return {
        "id": wf.id,
        "name": wf.name,
        "description": wf.description,
        "status": wf.status,
        "head_version": wf.head_version,
        "n8n_workflow_id": wf.n8n_workflow_id,
        "last_execution_status": wf.last_execution_status,
        "last_execution_at": _iso(wf.last_execution_at),
        "created_at": _iso(wf.created_at),
        "updated_at": _iso(wf.updated_at),
    }


def version_json(v: WorkflowVersion) -> dict[str, Any]:
    return {
        "version": v.version,
        "status": v.status,
        "source": v.source,
        "checksum": v.checksum,
        "created_by": v.created_by,
        "rolled_back_from": v.rolled_back_from,
        "created_at": _iso(v.created_at),
        "deployed_at": _iso(v.deployed_at),
    }


# --- handlers ---------------------------------------------------------------------------------


def bearer_token(authorization: str) -> str:
    """The token of an `Authorization: Bearer <token>` header (InvalidToken for another
    scheme)."""
    scheme, _, raw = authorization.partition(" ")
    if scheme.lower() != "bearer":
        raise api_tokens.InvalidToken()
    return raw.strip()


def list_workflows(
    deps: ApiDeps, *, authorization: str, limit: int, cursor: str | None
) -> dict[str, Any]:
    """One page of the token's project's workflows, with the cursors of the pages around it."""
    page = tokens.token_workflows(
        deps.session_factory, token=bearer_token(authorization), limit=limit, cursor=cursor
    )
    return {
        "items": [workflow_json(w) for w in page.items],
        "next_cursor": page.next_cursor,
        "prev_cursor": page.prev_cursor,
    }


def list_versions(deps: ApiDeps, *, authorization: str, workflow_id: int) -> dict[str, Any]:
    """A workflow of the token's project and every version it has had, newest first."""
    history = tokens.token_versions(
        deps.session_factory, token=bearer_token(authorization), workflow_id=workflow_id
    )
    return {
        "workflow": workflow_json(history.workflow),
        "items": [version_json(v) for v in history.versions],
    }


def rollback_caller(deps: ApiDeps, *, authorization: str, workflow_id: int) -> TokenCaller:
    """Who a rollback of `workflow_id` runs as (editors only); checked before the request body
    is read, so anonymous callers cost no parsing."""
    return tokens.token_rollback_caller(
        deps.session_factory, token=bearer_token(authorization), workflow_id=workflow_id
    )


def rollback(
    deps: ApiDeps,
    *,
    caller: TokenCaller,
    workflow_id: int,
    version: int,
    idempotency_key: str | None,
) -> dict[str, Any]:
    """Redeploy `version` as the workflow's new head; the new version."""

    def run(client: N8nClient) -> WorkflowVersion:
        return tokens.token_rollback(
            deps.session_factory,
            n8n=client,
            settings=deps.settings,
            caller=caller,
            workflow_id=workflow_id,
            version=version,
            idempotency_key=idempotency_key,
        )

    return {"version": version_json(deps.with_n8n(run))}
