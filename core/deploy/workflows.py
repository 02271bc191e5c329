"""Workflows of a project: dashboard listing (cursor pagination), lookups, versions, diffs."""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from core.kernel.errors import InvalidInput, NotFound
from core.kernel.models import Workflow, WorkflowVersion
from core.kernel.vocabulary import Role
from core.n8n.workflow_json import N8nWorkflow, WorkflowDiff, diff_workflows
from core.workspace.projects import require_role

Direction = Literal["next", "prev"]
MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class Page:
    """One page of workflows, newest first. Pass `next_cursor` for older workflows and
    `prev_cursor` for newer ones; each is None when there is nothing that way."""

    items: list[Workflow]
    next_cursor: str | None
    prev_cursor: str | None


def _encode_cursor(wf: Workflow, direction: Direction) -> str:
    raw = json.dumps({"d": direction, "i": wf.id}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


# Workflow ids are Postgres bigints; a cursor naming anything else was not made here.
_MAX_ID = 2**63 - 1
_CURSOR = re.compile(r"[A-Za-z0-9_-]{1,200}")


def _decode_cursor(cursor: str) -> tuple[Direction, int]:
    """(direction, workflow id) of a cursor made by `_encode_cursor`; InvalidInput for any other
    string (cursors come back from clients and Slack buttons: untrusted)."""
    invalid = InvalidInput("That page link is not valid any more; start from the first page.")
    if not _CURSOR.fullmatch(cursor):
        raise invalid
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError) as e:
        raise invalid from e
    if not isinstance(data, dict) or set(data) != {"d", "i"}:
        raise invalid
    direction, at = data["d"], data["i"]
    if direction not in ("next", "prev") or type(at) is not int or not 1 <= at <= _MAX_ID:
        raise invalid
    return direction, at


def list_workflows(
    *,
    session: Session,
    project_id: int,
    limit: int = 10,
    cursor: str | None = None,
    direction: Direction | None = None,
    include_deleted: bool = False,
) -> Page:
    """A page of the project's workflows, newest first.

    A cursor marks a position (a workflow id; ids grow with creation), so workflows added after
    the first page was read appear on the first page only and never shift later pages. A cursor
    remembers its own direction; `direction` overrides it ("next" = older, "prev" = newer).
    """
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise InvalidInput(f"A page holds 1 to {MAX_PAGE_SIZE} workflows.")
    base: list[ColumnElement[bool]] = [Workflow.project_id == project_id]
    if not include_deleted:
        base.append(Workflow.status != "deleted")

    def exists(cond: ColumnElement[bool]) -> bool:
        return session.scalar(select(Workflow.id).where(*base, cond).limit(1)) is not None

    if cursor is None:
        direction, at = "next", None
    else:
        own_direction, at = _decode_cursor(cursor)
        direction = direction or own_direction
    if direction == "next":
        query = select(Workflow).where(*base)
        if at is not None:
            query = query.where(Workflow.id < at)
        rows = list(session.scalars(query.order_by(Workflow.id.desc()).limit(limit + 1)))
        items, more_older = rows[:limit], len(rows) > limit
        more_newer = bool(items) and exists(Workflow.id > items[0].id)
    else:
        rows = list(
            session.scalars(
                select(Workflow)
                .where(*base, Workflow.id > (at or 0))
                .order_by(Workflow.id.asc())
                .limit(limit + 1)
            )
        )
        more_newer = len(rows) > limit
        items = list(reversed(rows[:limit]))
        more_older = bool(items) and exists(Workflow.id < items[-1].id)
    if not items:
        return Page([], None, None)
    return Page(
        items,
        _encode_cursor(items[-1], "next") if more_older else None,
        _encode_cursor(items[0], "prev") if more_newer else None,
    )


def find_workflow(*, session: Session, workflow_id: int) -> Workflow | None:
    """The workflow with this id, or None. No access check: only for ids the system produced
    (a run's outcome); an id a user sent goes through `get_workflow`."""
    return session.get(Workflow, workflow_id)


def get_workflow(
    *,
    session: Session,
    workflow_id: int,
    team_id: str,
    user_id: str,
    at_least: Role = Role.viewer,
) -> Workflow:
    """The workflow, if the user's role in its project is at least `at_least`.

    Raises NotFound for an unknown id and PermissionDenied for anyone without access (including
    every user of another workspace).
    """
    wf = session.get(Workflow, workflow_id)
    if wf is None:
        raise NotFound(f"There is no workflow #{workflow_id}.")
    require_role(
        session=session,
        project_id=wf.project_id,
        team_id=team_id,
        user_id=user_id,
        at_least=at_least,
    )
    return wf


def get_project_workflow(*, session: Session, project_id: int, workflow_id: int) -> Workflow:
    """The project's live workflow with this id. Raises NotFound also for another project's or a
    deleted workflow, with the same message, so existence never leaks across projects."""
    wf = session.get(Workflow, workflow_id)
    if wf is None or wf.project_id != project_id or wf.status == "deleted":
        raise NotFound(f"There is no workflow #{workflow_id}.")
    return wf


# Longest reference a workflow can have (a name: `Workflow.name` is 200 characters), and the
# digits of the largest id (a BIGINT); a longer one is answered without a query.
MAX_REF_CHARS = 200
MAX_ID_DIGITS = 18


def resolve_workflow(
    *, session: Session, project_id: int, ref: str, include_deleted: bool = False
) -> Workflow:
    """The project's workflow named by `ref`: its id ("12" or "#12"), its n8n id, or its name
    (case-insensitive). Raises NotFound, or InvalidInput when a name matches several.

    A deleted workflow is found only with `include_deleted` (reading its history, restoring
    it); otherwise NotFound says that it was deleted and how to get it back."""
    ref = ref.strip()
    if not ref:
        raise InvalidInput("Name a workflow (its name or #id).")
    if len(ref) > MAX_REF_CHARS:  # no name, id or n8n id is this long: say so, echo nothing
        raise NotFound(
            f"There is no workflow by that name in this project (a name has at most "
            f"{MAX_REF_CHARS} characters; `clixen list` shows them)."
        )
    try:
        return _resolve(
            session, [Workflow.project_id == project_id, Workflow.status != "deleted"], ref
        )
    except NotFound:
        try:
            gone = _resolve(
                session, [Workflow.project_id == project_id, Workflow.status == "deleted"], ref
            )
        except NotFound:
            raise NotFound(f"There is no workflow {ref!r} in this project.") from None
        if include_deleted:
            return gone
        raise NotFound(deleted_message(gone)) from None


def deleted_message(wf: Workflow) -> str:
    """What a user is told about a deleted workflow: what is kept and how to get it back."""
    return (
        f"Workflow #{wf.id} {wf.name!r} was deleted from n8n; its versions are kept here. "
        f"See them with `clixen versions #{wf.id}`; a project owner brings it back "
        f"with `clixen restore #{wf.id}` (its last version, deployed again)."
    )


def _resolve(session: Session, live: list[ColumnElement[bool]], ref: str) -> Workflow:
    digits = ref[1:] if ref.startswith("#") else ref
    if digits.isdigit() and len(digits) <= MAX_ID_DIGITS:  # a longer number is no row's id
        wf = session.scalar(select(Workflow).where(*live, Workflow.id == int(digits)))
        if wf is not None:
            return wf
    matches = list(
        session.scalars(
            select(Workflow)
            .where(*live, func.lower(Workflow.name) == ref.lower())
            .order_by(Workflow.id)
        )
    )
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        ids = ", ".join(f"#{w.id}" for w in matches)
        raise InvalidInput(f"Several workflows are called {ref!r} ({ids}); use the #id.")
    wf = session.scalar(select(Workflow).where(*live, Workflow.n8n_workflow_id == ref))
    if wf is not None:
        return wf
    raise NotFound(f"There is no workflow {ref!r} in this project.")


def list_versions(*, session: Session, workflow_id: int) -> list[WorkflowVersion]:
    """Every version of the workflow, oldest first (v1, v2, …), failed attempts included."""
    return list(
        session.scalars(
            select(WorkflowVersion)
            .where(WorkflowVersion.workflow_id == workflow_id)
            .order_by(WorkflowVersion.version)
        )
    )


def get_version(*, session: Session, workflow_id: int, version: int) -> WorkflowVersion:
    v = session.scalar(
        select(WorkflowVersion).where(
            WorkflowVersion.workflow_id == workflow_id, WorkflowVersion.version == version
        )
    )
    if v is None:
        raise NotFound(f"This workflow has no version {version}.")
    return v


def head_version(*, session: Session, workflow_id: int) -> WorkflowVersion | None:
    """The version currently deployed in n8n, if any."""
    wf = session.get(Workflow, workflow_id)
    if wf is None or wf.head_version == 0:
        return None
    return get_version(session=session, workflow_id=workflow_id, version=wf.head_version)


def editable_head(*, session: Session, workflow_id: int | None) -> WorkflowVersion:
    """The deployed version an edit starts from; NotFound when the workflow is gone or has
    never been deployed."""
    if workflow_id is None or session.get(Workflow, workflow_id) is None:
        raise NotFound("The workflow to edit no longer exists.")
    version = head_version(session=session, workflow_id=workflow_id)
    if version is None:
        raise NotFound("The workflow to edit has no deployed version.")
    return version


def version_diff(
    *, session: Session, workflow_id: int, from_version: int, to_version: int
) -> WorkflowDiff:
    """What changed between two versions of the workflow (nodes added, removed, changed)."""
    old = get_version(session=session, workflow_id=workflow_id, version=from_version)
    new = get_version(session=session, workflow_id=workflow_id, version=to_version)
    return diff_workflows(
        N8nWorkflow.model_validate(old.json_payload), N8nWorkflow.model_validate(new.json_payload)
    )
