"""Phase 2 of a deploy, with no transaction open: create or update the workflow in n8n, activate
it, read it back; after a failed update, put the last good version back.

The create is sent once, marked (`marker`): when n8n does not answer it, the workflow it may
have made is looked up by its mark until it shows up or the deadline passes, never created again.
While n8n keeps a call waiting, a line says so every WAIT_NOTE_S.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from core.deploy.marker import DeployMark, find_marked, site_of
from core.deploy.readback import Mismatch, confirm_active, holds_sent
from core.kernel.models import DeployAttempt, Workflow
from core.n8n import N8nAPIError, N8nClient, N8nError, N8nNotFound, N8nTimeout, N8nUnanswered

log = logging.getLogger(__name__)
# What a deploy says while it works, one line of text at a time (the CLI prints it); a run's
# progress is typed (`core.pipeline.types.Progress`).
SayLine = Callable[[str], None]
# While a deploy waits for n8n, a progress line says so this often.
WAIT_NOTE_S = 10.0
# How often a create n8n did not answer is looked up by its mark.
LOOKUP_EVERY_S = 1.0
# How long a lookup goes on without a deadline.
LOOKUP_WITHOUT_DEADLINE_S = 60.0
WAITING_PREFIX = "still waiting for n8n"


@contextlib.contextmanager
def still_waiting(say: SayLine, every_s: float = WAIT_NOTE_S) -> Iterator[None]:
    """Within the block, say "still waiting for n8n (N s)…" every `every_s` (from a helper
    thread) until the block ends: someone watching sees the deploy is alive, not hung."""
    done = threading.Event()
    started = time.monotonic()

    def note() -> None:
        while not done.wait(every_s):
            say(f"{WAITING_PREFIX} ({time.monotonic() - started:.0f} s)…")

    ticker = threading.Thread(target=note, name="n8n-wait-note", daemon=True)
    ticker.start()
    try:
        yield
    finally:
        done.set()


def push(
    *,
    session_factory: sessionmaker[Session],
    n8n: N8nClient,
    workflow_id: int,
    n8n_id: str | None,
    payload: dict[str, Any],
    version: int,
    say: SayLine,
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
        mark = DeployMark.new(site_of(session_factory), workflow_id, version)
        # Recorded before it is sent: reconciliation removes only what Clixen itself sent.
        with session_factory.begin() as session:
            session.add(DeployAttempt(deploy=mark.deploy, workflow_id=workflow_id, version=version))
        n8n_id = _create_once(n8n, payload, mark, say)
        # Remember the id at once, so a crash before activation cannot orphan it in n8n.
        with session_factory.begin() as session:
            # Two UPDATEs, no reads: this sits between n8n calls on every first deploy.
            session.execute(
                update(Workflow).where(Workflow.id == workflow_id).values(n8n_workflow_id=n8n_id)
            )
            session.execute(
                update(DeployAttempt)
                .where(DeployAttempt.deploy == mark.deploy)
                .values(n8n_workflow_id=n8n_id)
            )
        say(f"created n8n workflow {n8n_id}")
    if not published:
        n8n.activate(n8n_id)
    say("activated; reading back")
    confirm_active(n8n, n8n_id, payload)
    return n8n_id


def _create_once(n8n: N8nClient, payload: dict[str, Any], mark: DeployMark, say: SayLine) -> str:
    """The id of the n8n workflow made from `payload` by one create call carrying `mark`."""
    try:
        created = n8n.create_workflow(mark.on(payload))
    except N8nUnanswered:
        say("n8n did not answer the create; looking for the workflow it may have made")
        return _await_marked(n8n, mark, name=payload.get("name"))
    if not isinstance(created, dict) or not created.get("id"):
        raise Mismatch("n8n answered the create without a workflow id.")
    return str(created["id"])


def _await_marked(n8n: N8nClient, mark: DeployMark, *, name: Any) -> str:
    """Look for the workflow an unanswered create carrying `mark` made, until n8n's deadline
    (the create may still be queued in a frozen or busy n8n). Raises N8nTimeout, saying that
    nothing was duplicated, when it does not show up in time."""
    left = n8n.time_left()
    end = time.monotonic() + (LOOKUP_WITHOUT_DEADLINE_S if left is None else left)
    while time.monotonic() < end:
        try:
            found = find_marked(n8n, mark, name=str(name) if name else None)
        except N8nAPIError:
            raise
        except N8nError:  # no answer yet, or not reachable: n8n may be frozen or restarting
            found = []
        if found:
            # One create was sent, so one workflow at most carries this deploy's mark.
            return found[0]
        time.sleep(max(0.0, min(LOOKUP_EVERY_S, end - time.monotonic())))
    raise N8nTimeout(
        f"n8n at {n8n.base_url} did not answer in time. Check that n8n is running and "
        "responsive (its /healthz and its log), then deploy again. Nothing was duplicated: the "
        "workflow was sent once, and should n8n still make it, Clixen's reconciliation job "
        "removes it."
    )


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
