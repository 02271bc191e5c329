"""The n8n side of a workflow's Slack trigger: a random webhook path and a secret only Clixen
sends, held in n8n as a Header Auth credential (`httpHeaderAuth`) that the compiled Webhook node
requires — a caller without it gets 403 from n8n. One per workflow, kept across its versions (a
rollback keeps the same path and secret); deleted with the workflow.

The secret is stored in our database sealed under CLIXEN_SECRET_KEY (`core.kernel.sealing`, bound
to its workflow: a sealed value copied onto another row does not open) because Clixen must send
it with every delivery; it is opened only to be sent to n8n, never logged or shown, and it
authenticates one caller to one webhook, nothing else.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.kernel.errors import ClixenError
from core.kernel.models import TriggerEndpoint
from core.kernel.sealing import Unreadable, seal, unseal
from core.n8n import N8nClient, N8nError

log = logging.getLogger(__name__)

HEADER_NAME = "X-Clixen-Trigger"
CREDENTIAL_TYPE = "httpHeaderAuth"


class TriggerSecretUnreadable(ClixenError):
    """A stored webhook secret does not open with CLIXEN_SECRET_KEY."""

    code = "trigger_secret_unreadable"

    def __init__(self, workflow_id: int) -> None:
        super().__init__(
            f"The Slack trigger of workflow {workflow_id} cannot be read with CLIXEN_SECRET_KEY: "
            "set it to the key Clixen ran with (after `clixen secret rotate`, the new key)."
        )


@dataclass(frozen=True)
class Endpoint:
    """Where Clixen calls one workflow in n8n: its webhook path and the n8n credential its
    Webhook node requires (the secret itself is opened only to be sent, `secret_of`)."""

    workflow_id: int
    path: str
    credential_id: str

    @property
    def credential_name(self) -> str:
        return credential_name(self.workflow_id)


def credential_name(workflow_id: int) -> str:
    return f"Clixen Slack trigger (workflow {workflow_id})"


def _binding(workflow_id: int) -> str:
    return f"clixen-trigger:{workflow_id}"


def seal_secret(session: Session, *, workflow_id: int, secret: str, key: str) -> bytes:
    """The webhook secret of `workflow_id` as stored (`TriggerEndpoint.secret_sealed`)."""
    return seal(session, value=secret, key=key, binding=_binding(workflow_id))


def open_secret(session: Session, *, workflow_id: int, sealed: bytes, key: str) -> str:
    """The webhook secret stored for `workflow_id`; TriggerSecretUnreadable with another key (or
    a sealed value copied from another workflow's row)."""
    try:
        return unseal(session, blob=sealed, key=key, binding=_binding(workflow_id))
    except Unreadable:
        raise TriggerSecretUnreadable(workflow_id) from None


def endpoint_of(session: Session, workflow_id: int) -> Endpoint | None:
    """The workflow's endpoint, once its credential exists in n8n."""
    row = session.scalar(select(TriggerEndpoint).where(TriggerEndpoint.workflow_id == workflow_id))
    if row is None or row.n8n_credential_id is None:
        return None
    return Endpoint(workflow_id, row.path, row.n8n_credential_id)


def secret_of(session: Session, *, workflow_id: int, key: str) -> str | None:
    """The workflow's webhook secret, opened (to send it to n8n, nowhere else); None without
    an endpoint."""
    sealed = session.scalar(
        select(TriggerEndpoint.secret_sealed).where(TriggerEndpoint.workflow_id == workflow_id)
    )
    if sealed is None:
        return None
    return open_secret(session, workflow_id=workflow_id, sealed=sealed, key=key)


def rotate_secrets(*, session: Session, old_key: str, new_key: str) -> int:
    """Re-seal every webhook secret from `old_key` to `new_key` (in the caller's transaction,
    beside the project secrets); how many. TriggerSecretUnreadable leaves the caller to roll
    back."""
    rows = session.scalars(select(TriggerEndpoint).order_by(TriggerEndpoint.id)).all()
    for row in rows:
        plain = open_secret(
            session, workflow_id=row.workflow_id, sealed=row.secret_sealed, key=old_key
        )
        row.secret_sealed = seal_secret(
            session, workflow_id=row.workflow_id, secret=plain, key=new_key
        )
    return len(rows)


def ensure_endpoint(
    *, session_factory: sessionmaker[Session], n8n: N8nClient, workflow_id: int, key: str
) -> Endpoint:
    """The workflow's endpoint, made on first need: the path and sealed secret are stored first
    (one short transaction), then the n8n credential is created (no transaction open) and its id
    recorded. Callers hold the workflow's deploy lock, so two deploys never race here."""
    with session_factory.begin() as session:
        row = session.scalar(
            select(TriggerEndpoint).where(TriggerEndpoint.workflow_id == workflow_id)
        )
        if row is None:
            secret = secrets.token_urlsafe(32)
            row = TriggerEndpoint(
                workflow_id=workflow_id,
                path=f"clixen-{secrets.token_hex(16)}",
                secret_sealed=seal_secret(session, workflow_id=workflow_id, secret=secret, key=key),
            )
            session.add(row)
            session.flush()
        elif row.n8n_credential_id is None:
            secret = open_secret(
                session, workflow_id=workflow_id, sealed=row.secret_sealed, key=key
            )
        path, cred = row.path, row.n8n_credential_id
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
    return Endpoint(workflow_id, path, cred)


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
