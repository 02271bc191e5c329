"""The n8n side of a workflow's Slack trigger: a random webhook path and a secret only Clixen
sends, held in n8n as a Header Auth credential (`httpHeaderAuth`) that the compiled Webhook node
requires — a caller without it gets 403 from n8n. One per workflow, kept across its versions (a
rollback keeps the same path and secret); deleted with the workflow.

The secret is stored in our database (Clixen must send it with every delivery), never logged or
shown; it authenticates one caller to one webhook, nothing else.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.kernel.models import TriggerEndpoint
from core.n8n import N8nClient, N8nError

log = logging.getLogger(__name__)

HEADER_NAME = "X-Clixen-Trigger"
CREDENTIAL_TYPE = "httpHeaderAuth"


@dataclass(frozen=True)
class Endpoint:
    """Where and how Clixen calls one workflow in n8n (`secret` never leaves Clixen and n8n)."""

    workflow_id: int
    path: str
    secret: str
    credential_id: str

    @property
    def credential_name(self) -> str:
        return credential_name(self.workflow_id)

    def __repr__(self) -> str:  # the secret stays out of logs and tracebacks
        return f"Endpoint(workflow_id={self.workflow_id}, path={self.path!r})"


def credential_name(workflow_id: int) -> str:
    return f"Clixen Slack trigger (workflow {workflow_id})"


def endpoint_of(session: Session, workflow_id: int) -> Endpoint | None:
    """The workflow's endpoint, once its credential exists in n8n."""
    row = session.scalar(select(TriggerEndpoint).where(TriggerEndpoint.workflow_id == workflow_id))
    if row is None or row.n8n_credential_id is None:
        return None
    return Endpoint(workflow_id, row.path, row.secret, row.n8n_credential_id)


def ensure_endpoint(
    *, session_factory: sessionmaker[Session], n8n: N8nClient, workflow_id: int
) -> Endpoint:
    """The workflow's endpoint, made on first need: the path and secret are stored first (one
    short transaction), then the n8n credential is created (no transaction open) and its id
    recorded. Callers hold the workflow's deploy lock, so two deploys never race here."""
    with session_factory.begin() as session:
        row = session.scalar(
            select(TriggerEndpoint).where(TriggerEndpoint.workflow_id == workflow_id)
        )
        if row is None:
            row = TriggerEndpoint(
                workflow_id=workflow_id,
                path=f"clixen-{secrets.token_hex(16)}",
                secret=secrets.token_urlsafe(32),
            )
            session.add(row)
            session.flush()
        path, secret, cred = row.path, row.secret, row.n8n_credential_id
    if cred is None:
        created = n8n.create_credential(
            name=credential_name(workflow_id),
            type=CREDENTIAL_TYPE,
            data={"name": HEADER_NAME, "value": secret},
        )
        cred = str(created["id"])
        with session_factory.begin() as session:
            row = session.scalar(
                select(TriggerEndpoint).where(TriggerEndpoint.workflow_id == workflow_id)
            )
            assert row is not None
            row.n8n_credential_id = cred
    return Endpoint(workflow_id, path, secret, cred)


def drop_endpoint(
    *, session_factory: sessionmaker[Session], n8n: N8nClient, workflow_id: int
) -> None:
    """Delete the workflow's trigger credential in n8n and its endpoint here (after the n8n
    workflow itself is gone). Best effort on n8n's side: a credential n8n keeps is harmless
    without the workflow, and logged."""
    with session_factory.begin() as session:
        row = session.scalar(
            select(TriggerEndpoint).where(TriggerEndpoint.workflow_id == workflow_id)
        )
        cred = row.n8n_credential_id if row is not None else None
    if cred is not None:
        try:
            n8n.delete_credential(cred)
        except N8nError as e:
            log.warning("workflow %s: trigger credential %s not deleted (%s)", workflow_id, cred, e)
            return
    with session_factory.begin() as session:
        row = session.scalar(
            select(TriggerEndpoint).where(TriggerEndpoint.workflow_id == workflow_id)
        )
        if row is not None:
            session.delete(row)
