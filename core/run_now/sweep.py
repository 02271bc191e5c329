"""The product's record of the test copies it makes in n8n, and the sweep that deletes those a
killed process left behind.

A copy is recorded (`RunNowCopyRecord`: its unique webhook path) before n8n is asked to create it,
gets its n8n id the moment n8n answers, and its record goes when the copy is deleted. The sweep
deletes only recorded copies: by n8n id, or, for a record a process could not complete (killed
between n8n's answer and the write), the one workflow in n8n that carries the record's unique
webhook path. A workflow anyone else named like a test copy is never touched.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from core.kernel.models import RunNowCopyRecord, utcnow
from core.n8n import N8nClient, N8nError, N8nNotFound
from core.run_now.copies import TEST_PREFIX

logger = logging.getLogger(__name__)

SWEEP_AGE_MINUTES = 15


def record_copy(
    session_factory: sessionmaker[Session], *, project_id: int | None, path: str
) -> int:
    """Record a copy about to be created (its webhook `path`); the record's id."""
    with session_factory.begin() as session:
        row = RunNowCopyRecord(project_id=project_id, path=path)
        session.add(row)
        session.flush()
        return row.id


def record_created(session_factory: sessionmaker[Session], record_id: int, n8n_id: str) -> None:
    """Note the n8n id n8n gave the recorded copy."""
    with session_factory.begin() as session:
        session.execute(
            update(RunNowCopyRecord)
            .where(RunNowCopyRecord.id == record_id)
            .values(n8n_workflow_id=n8n_id)
        )


def forget_copy(session_factory: sessionmaker[Session], record_id: int) -> None:
    """Drop the record of a copy that is gone from n8n (or was never created)."""
    with session_factory.begin() as session:
        session.execute(delete(RunNowCopyRecord).where(RunNowCopyRecord.id == record_id))


def sweep_test_copies(
    session_factory: sessionmaker[Session],
    n8n: N8nClient,
    *,
    older_than_minutes: float | None = None,
) -> int:
    """Delete the recorded test copies older than `older_than_minutes` (default
    SWEEP_AGE_MINUTES: a live test run never lasts that long, so only copies a killed process
    left); returns how many n8n workflows were deleted."""
    age = SWEEP_AGE_MINUTES if older_than_minutes is None else older_than_minutes
    cutoff = utcnow() - dt.timedelta(minutes=age)
    with session_factory() as session:
        stale = [
            (row.id, row.n8n_workflow_id, row.path)
            for row in session.scalars(
                select(RunNowCopyRecord).where(RunNowCopyRecord.created_at <= cutoff)
            )
        ]
    unfinished = {path: record_id for record_id, n8n_id, path in stale if n8n_id is None}
    found = _by_path(n8n, set(unfinished)) if unfinished else {}
    deleted = 0
    for record_id, n8n_id, path in stale:
        target = n8n_id or found.get(path)
        if target is not None:
            try:
                n8n.delete_workflow(target)
            except N8nError as e:  # kept: the next sweep tries again
                logger.warning("sweep: test copy %s not deleted: %s", target, e)
                continue
            deleted += 1
        forget_copy(session_factory, record_id)
    return deleted


def _by_path(n8n: N8nClient, paths: set[str]) -> dict[str, str]:
    """Webhook path → n8n id of the test copies in n8n that carry one of `paths`."""
    out: dict[str, str] = {}
    cursor: str | None = None
    while True:
        page = n8n.list_workflows(limit=100, cursor=cursor)
        for wf in page.get("data") or []:
            if str(wf.get("name") or "").startswith(TEST_PREFIX):
                for path in _webhook_paths(wf) & paths:
                    out[path] = str(wf["id"])
        cursor = page.get("nextCursor")
        if not cursor:
            return out


def _webhook_paths(wf: Mapping[str, Any]) -> set[str]:
    return {
        str((node.get("parameters") or {}).get("path"))
        for node in wf.get("nodes") or []
        if isinstance(node, Mapping) and node.get("type") == "n8n-nodes-base.webhook"
    }


def delete_copies_named(
    session_factory: sessionmaker[Session], n8n: N8nClient, *, project_id: int, name: str
) -> int:
    """Delete the project's recorded test copies of the workflow called `name` (a copy is named
    TEST_PREFIX + the workflow's name) from n8n and forget them; how many were deleted. A copy
    n8n no longer has is forgotten too. Called when the workflow itself is deleted."""
    with session_factory() as session:
        rows = [
            (row.id, row.n8n_workflow_id)
            for row in session.scalars(
                select(RunNowCopyRecord).where(
                    RunNowCopyRecord.project_id == project_id,
                    RunNowCopyRecord.n8n_workflow_id.is_not(None),
                )
            )
        ]
    deleted = 0
    for record_id, n8n_id in rows:
        assert n8n_id is not None
        try:
            found = n8n.get_workflow(n8n_id)
        except N8nNotFound:
            forget_copy(session_factory, record_id)
            continue
        except N8nError:
            continue  # n8n did not answer: the sweep deletes it later
        if str(found.get("name") or "") != f"{TEST_PREFIX}{name}":
            continue
        try:
            n8n.delete_workflow(n8n_id)
        except N8nError:
            logger.warning("test copy %s could not be deleted; the sweep retries", n8n_id)
            continue
        forget_copy(session_factory, record_id)
        deleted += 1
    return deleted
