"""Credentials half-finished connects left in n8n: a link opened (its n8n credential written)
whose consent never completed, when the process died before the credential was recorded or
before the given-up link's credential could be deleted (n8n down). Nothing in Clixen points at
them any more, so `clixen disconnect` and App Home cannot see them; they hold the OAuth app's
client secret.

A leftover is an n8n credential named the way `links.open_link` names a project's connect
credential (`clixen-p<project>-<SECRET>`, `_2`… for a second account) of that service's type,
older than a link lives (`LINK_TTL`: a link being opened right now is never one), which no
secret, connected account or open link of this database uses, in a project where a link of
that service was opened and ended without binding (or never recorded its credential) — so a
credential another Clixen database (sharing the n8n) still uses is not taken for one.
`find_leftovers` lists them; `remove_leftovers` deletes them (the scheduler's sweep every 10
minutes, `clixen disconnect --leftovers`).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from core.connect.connectable import SERVICES, secret_name_of
from core.connect.links import LINK_TTL
from core.credentials.accounts import credential_in_use
from core.kernel.models import ConnectRequest
from core.n8n import N8nClient, N8nError

logger = logging.getLogger(__name__)

_NAME = re.compile(r"clixen-p(\d+)-([A-Z0-9_]+?)(?:_\d+)?")
_BY_SECRET = {secret_name_of(s.name): s for s in SERVICES}


@dataclass(frozen=True)
class Leftover:
    """An n8n credential a half-finished connect left (never its data)."""

    credential_id: str
    name: str
    service: str
    project_id: int
    created_at: dt.datetime


def _created(raw: object) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        return None


def _evidence(session: Session, now: dt.datetime) -> tuple[set[str], set[tuple[int, str]]]:
    """(credential ids of links still open, (project, service) pairs with an unfinished-and-
    ended link)."""
    open_links = select(ConnectRequest.n8n_credential_id).where(
        ConnectRequest.finished_at.is_(None), ConnectRequest.outcome.is_(None)
    )
    used = {c for c in session.scalars(open_links) if c}
    ended = session.execute(
        select(ConnectRequest.project_id, ConnectRequest.service).where(
            ConnectRequest.opened_at.is_not(None),
            or_(
                ConnectRequest.outcome.in_(("abandoned", "failed", "refused")),
                ConnectRequest.n8n_credential_id.is_(None),
            ),
            ConnectRequest.opened_at < now - LINK_TTL,
        )
    ).all()
    return used, {(p, s) for p, s in ended}


def find_leftovers(
    *,
    session_factory: sessionmaker[Session],
    n8n: N8nClient,
    project_id: int | None = None,
    now: dt.datetime | None = None,
) -> list[Leftover]:
    """The leftovers (see the module docstring), of one project or all; n8n is read with no
    transaction open."""
    now = now or dt.datetime.now(dt.UTC)
    with session_factory() as session:
        used, ended = _evidence(session, now)
    found = []
    for cred in n8n.iter_credentials():
        match = _NAME.fullmatch(str(cred.get("name") or ""))
        service = _BY_SECRET.get(match.group(2)) if match else None
        created = _created(cred.get("createdAt"))
        if match is None or service is None or created is None:
            continue
        owner = int(match.group(1))
        if (
            cred.get("type") == service.credential_type
            and (project_id is None or owner == project_id)
            and (owner, service.name) in ended
            and str(cred.get("id")) not in used
            and created < now - LINK_TTL
        ):
            found.append(Leftover(str(cred["id"]), str(cred["name"]), service.name, owner, created))
    if not found:
        return []
    with session_factory() as session:  # a secret or an account of this database holds none
        return [f for f in found if not credential_in_use(session, f.credential_id)]


def remove_leftovers(n8n: N8nClient, leftovers: list[Leftover]) -> list[Leftover]:
    """Delete `leftovers` from n8n; those that went (one n8n refuses is logged and kept for the
    next sweep)."""
    removed = []
    for leftover in leftovers:
        try:
            n8n.delete_credential(leftover.credential_id)
        except N8nError as e:
            logger.warning("connect leftover %s not deleted: %s", leftover.credential_id, e)
            continue
        removed.append(leftover)
        logger.info(
            "deleted n8n credential %s left by an unfinished %s connect of project %s",
            leftover.credential_id,
            leftover.service,
            leftover.project_id,
        )
    return removed
