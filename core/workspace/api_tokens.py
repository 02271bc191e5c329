"""Per-project tokens for the HTTP API: `clx_` + 43 random characters, stored as SHA-256 only.

A token acts for one project, with the rights its creator has there: it can never reach another
project, and it stops working when revoked, and wherever its creator lacks the role a request
needs (removed from the project: for everything, reads included). A read-only token acts with
viewer rights at most, whatever its creator's role: it lists, it never rolls back.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Final

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.kernel.errors import ClixenError, InvalidInput, NotFound, PermissionDenied
from core.kernel.models import ApiToken, Project
from core.kernel.vocabulary import Role
from core.workspace.projects import require_role

PREFIX: Final = "clx_"
_TOKEN_RE: Final = re.compile(r"clx_[A-Za-z0-9_-]{43}")
# Shown in listings so a user can tell tokens apart; reveals 4 of 256 random bits.
_SHOWN_CHARS: Final = 8


class InvalidToken(ClixenError):
    """The API token is missing, malformed, unknown or revoked (one message: no oracle)."""

    code = "unauthorized"

    def __init__(self) -> None:
        super().__init__(
            "A valid API token is required: Authorization: Bearer clx_… (a project owner "
            "creates one with `clixen token create NAME --project PROJECT`)."
        )


@dataclass(frozen=True)
class NewToken:
    """A token just created. `raw` is shown once and never stored."""

    id: int
    name: str
    raw: str
    prefix: str
    read_only: bool = False


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def create_token(
    *, session: Session, project_id: int, name: str, created_by: str, read_only: bool = False
) -> NewToken:
    """A new API token of the project (`read_only`: viewer rights at most); its raw value is in
    the result only."""
    name = name.strip()
    if not 1 <= len(name) <= 80:
        raise InvalidInput("Give the token a name of 1 to 80 characters (e.g. 'ci').")
    if session.get(Project, project_id) is None:
        raise NotFound(f"There is no project #{project_id}.")
    raw = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        project_id=project_id,
        name=name,
        token_hash=_hash(raw),
        prefix=raw[:_SHOWN_CHARS],
        created_by=created_by,
        read_only=read_only,
    )
    session.add(row)
    session.flush()
    return NewToken(id=row.id, name=name, raw=raw, prefix=row.prefix, read_only=read_only)


def list_tokens(*, session: Session, project_id: int) -> list[ApiToken]:
    """The project's tokens (hash and prefix only), newest first, revoked ones included."""
    return list(
        session.scalars(
            select(ApiToken).where(ApiToken.project_id == project_id).order_by(ApiToken.id.desc())
        )
    )


def authenticate(
    *,
    session: Session,
    raw_token: str,
    at_least: Role = Role.viewer,
    now: dt.datetime | None = None,
) -> tuple[Project, ApiToken]:
    """The project and token that `raw_token` stands for, or InvalidToken.

    Raises PermissionDenied when the token's creator no longer has `at_least` rights in the
    token's project (removed from it, or demoted): a token never outlives its creator's access;
    and when the token is read-only and the request needs more than viewer rights.
    """
    if not _TOKEN_RE.fullmatch(raw_token or ""):
        raise InvalidToken()
    digest = _hash(raw_token)
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest))
    # compare_digest keeps the check constant-time even though the lookup is by hash.
    if row is None or row.revoked_at is not None or not hmac.compare_digest(row.token_hash, digest):
        raise InvalidToken()
    project = session.get(Project, row.project_id)
    if project is None:
        raise InvalidToken()
    if row.read_only and at_least > Role.viewer:
        raise PermissionDenied(
            f"API token #{row.id} ({row.name}) is read-only: it can list workflows and versions, "
            "not change them. Use a token created without --read-only."
        )
    try:
        require_role(
            session=session,
            project_id=project.id,
            team_id=project.team_id,
            user_id=row.created_by,
            at_least=at_least,
        )
    except PermissionDenied as e:
        raise PermissionDenied(
            f"This API token acts for {row.created_by}, who no longer has {at_least.name} rights "
            f"in project {project.name!r}. Ask a project owner for a new token."
        ) from e
    session.execute(
        update(ApiToken)
        .where(ApiToken.id == row.id)
        .values(last_used_at=now or dt.datetime.now(dt.UTC))
        .execution_options(synchronize_session=False)
    )
    return project, row


def revoke(*, session: Session, project_id: int, token_id: int) -> ApiToken:
    """Revoke the project's token `token_id` (idempotent); NotFound for another project's token."""
    row = session.get(ApiToken, token_id)
    if row is None or row.project_id != project_id:
        raise NotFound(f"This project has no API token #{token_id}.")
    if row.revoked_at is None:
        row.revoked_at = dt.datetime.now(dt.UTC)
        session.flush()
    return row
