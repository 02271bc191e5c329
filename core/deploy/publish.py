"""Phase 2 of a deploy, with no transaction open: create or update the workflow in n8n, activate
it, read it back; after a failed update, put the last good version back."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from core.deploy.readback import Mismatch, confirm_active, holds_sent
from core.kernel.models import Workflow
from core.n8n import N8nClient, N8nError, N8nNotFound

log = logging.getLogger(__name__)
# What a deploy says while it works: one line of text at a time (the CLI prints it).
Progress = Callable[[str], None]


def push(
    *,
    session_factory: sessionmaker[Session],
    n8n: N8nClient,
    workflow_id: int,
    n8n_id: str | None,
    payload: dict[str, Any],
    version: int,
    say: Progress,
) -> str:
    published = False
    if n8n_id is not None:
        try:
            updated = n8n.update_workflow(n8n_id, payload)
            # n8n 2.x republishes an active workflow on update; activating again would redo it.
            published = bool(updated.get("active")) and updated.get(
                "activeVersionId"
            ) == updated.get("versionId")
            say(f"updated n8n workflow {n8n_id}")
        except N8nNotFound:
            # Someone deleted it in n8n: recreate rather than leave the workflow unrecoverable.
            n8n_id = None
    if n8n_id is None:
        created = n8n.create_workflow(payload)
        if not isinstance(created, dict) or not created.get("id"):
            raise Mismatch("n8n answered the create without a workflow id.")
        n8n_id = str(created["id"])
        # Remember the id at once, so a crash before activation cannot orphan it in n8n.
        with session_factory.begin() as session:
            wf = session.get(Workflow, workflow_id)
            assert wf is not None
            wf.n8n_workflow_id = n8n_id
        say(f"created n8n workflow {n8n_id}")
    if not published:
        n8n.activate(n8n_id)
    say("activated; reading back")
    confirm_active(n8n, n8n_id, payload)
    return n8n_id


def restore(n8n: N8nClient, n8n_id: str, payload: dict[str, Any]) -> None:
    """Best effort: put the last good version back in n8n after a failed update."""
    try:
        back = n8n.get_workflow(n8n_id)
        if back.get("active") and holds_sent(back, payload):
            return
        n8n.update_workflow(n8n_id, payload)
        n8n.activate(n8n_id)
    except N8nError:
        log.warning("could not restore the last good version of n8n workflow %s", n8n_id)
