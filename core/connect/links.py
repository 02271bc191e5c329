"""Connect links: the single-use URL a user opens to connect an account, and what opening it does.

`create_link` (an editor of the project asks; Slack button, `/clixen connect`, `clixen connect`)
stores only the SHA-256 of a random state, bound to the user, project, run and credential type,
expiring in `LINK_TTL`. `open_link` (the browser arrives at Clixen's `/oauth/start?state=…`)
uses the state once: it writes the n8n credential (the OAuth app's client, never a token) and
asks n8n, through Clixen's server-side n8n session, for the provider's consent URL. The browser
then goes provider → n8n's callback, where n8n stores the token; `core.connect.accounts`
notices it and binds the account to the project.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlencode

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from core.connect.apps import credential_data
from core.connect.connectable import Service, secret_name_of, service_named
from core.credentials.accounts import own_account
from core.kernel.errors import ClixenError, InvalidInput, NotFound, PermissionDenied
from core.kernel.models import ConnectRequest, OAuthApp, PipelineRun
from core.kernel.vocabulary import Role
from core.n8n import N8nClient, N8nError, N8nNotFound
from core.n8n.session import N8nUserSession
from core.workspace.projects import require_role

logger = logging.getLogger(__name__)

LINK_TTL: Final = dt.timedelta(minutes=10)
START_PATH: Final = "/oauth/start"


class LinkRefused(ClixenError):
    """A connect link that cannot be used; the message is the page the browser shows."""

    code = "connect_link_refused"


ALREADY_USED: Final = (
    "This connect link was already used; each link works once. Ask Clixen in Slack "
    "for a new one (`/clixen connect SERVICE`)."
)


@dataclass(frozen=True)
class ConnectLink:
    """A link to send to the user who asked (never to a channel): opens the consent page."""

    url: str
    service: Service
    expires_at: dt.datetime


def state_hash(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


def create_link(
    *,
    session: Session,
    team_id: str,
    user_id: str,
    project_id: int,
    service: str,
    public_url: str | None,
    run_id: int | None = None,
    now: dt.datetime | None = None,
) -> ConnectLink:
    """A new single-use link for `user_id` to connect `service` to the project (and resume
    `run_id` after). PermissionDenied below editor; InvalidInput for an unknown service, a run
    of another project or no CLIXEN_PUBLIC_URL."""
    chosen = service_named(service)
    require_role(
        session=session,
        project_id=project_id,
        team_id=team_id,
        user_id=user_id,
        at_least=Role.editor,
    )
    if not public_url:
        raise InvalidInput(
            "Connecting accounts needs CLIXEN_PUBLIC_URL, the address where browsers reach "
            "`clixen serve` (e.g. https://clixen.example.com; on this machine "
            "http://127.0.0.1:3000): ask the operator to set it."
        )
    if session.scalar(select(OAuthApp.id).where(OAuthApp.provider == chosen.provider)) is None:
        # Said now, before any link exists: the link would only fail in the browser.
        raise NotFound(
            f"{chosen.label} cannot be connected yet: no OAuth app is registered for "
            f"{chosen.provider}. An operator runs `clixen oauth-app set {chosen.provider} "
            "--client-id … --client-secret-stdin` once (README: Connecting accounts)."
        )
    if run_id is not None:
        run = session.get(PipelineRun, run_id)
        if run is None or run.project_id != project_id or run.team_id != team_id:
            raise InvalidInput(f"Run {run_id} is not one of this project's requests.")
    now = now or dt.datetime.now(dt.UTC)
    state = secrets.token_urlsafe(32)
    request = ConnectRequest(
        state_hash=state_hash(state),
        team_id=team_id,
        user_id=user_id,
        project_id=project_id,
        run_id=run_id,
        service=chosen.name,
        credential_type=chosen.credential_type,
        expires_at=now + LINK_TTL,
    )
    session.add(request)
    session.flush()
    url = f"{public_url.rstrip('/')}{START_PATH}?{urlencode({'state': state})}"
    return ConnectLink(url=url, service=chosen, expires_at=request.expires_at)


def _claim(session: Session, state: str, now: dt.datetime) -> ConnectRequest:
    """The link's request, marked opened; LinkRefused when unknown, used or expired, or when
    its user is no longer an editor of the project."""
    request = session.scalar(
        select(ConnectRequest)
        .where(ConnectRequest.state_hash == state_hash(state))
        .with_for_update()
    )
    if request is None:
        raise LinkRefused(
            "This connect link is not valid. Ask Clixen in Slack for a new one "
            "(`/clixen connect SERVICE`)."
        )
    if request.opened_at is not None:
        raise LinkRefused(ALREADY_USED)
    expires = request.expires_at
    if expires.tzinfo is None:  # SQLite drops the zone
        expires = expires.replace(tzinfo=dt.UTC)
    if expires <= now:
        raise LinkRefused(
            "This connect link has expired (links last 10 minutes). Ask Clixen in Slack for "
            "a new one (`/clixen connect SERVICE`)."
        )
    try:
        require_role(
            session=session,
            project_id=request.project_id,
            team_id=request.team_id,
            user_id=request.user_id,
            at_least=Role.editor,
        )
    except PermissionDenied as e:
        if _use_up(session, request, now):  # committed by the caller: the link is spent
            request.outcome = "refused"
        raise LinkRefused(f"You can no longer connect accounts to this project: {e}") from e
    if not _use_up(session, request, now):
        raise LinkRefused(ALREADY_USED)
    return request


def _use_up(session: Session, request: ConnectRequest, now: dt.datetime) -> bool:
    """Mark the link opened; False when another open got there first. Single use on every
    database: only the open that flips opened_at from NULL gets the link (`with_for_update`
    locks the row on Postgres but is a no-op on SQLite)."""
    claimed = session.execute(
        update(ConnectRequest)
        .where(ConnectRequest.id == request.id, ConnectRequest.opened_at.is_(None))
        .values(opened_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return False
    request.opened_at = now
    return True


def open_link(
    *,
    session_factory: sessionmaker[Session],
    n8n: N8nClient,
    n8n_session: N8nUserSession,
    state: str,
    key: str,
    now: dt.datetime | None = None,
) -> str:
    """Use a connect link once: write the link's n8n credential, restricted to the service's
    domains (a reconnect of the user's own account reuses its credential, so workflows keep
    their binding) and answer the provider's consent URL. LinkRefused with the
    page's text when the link cannot be used or n8n cannot start the flow."""
    now = now or dt.datetime.now(dt.UTC)
    link = _use_link(session_factory, state, key, now)
    created_id: str | None = None
    try:
        # Sign in first: a wrong owner password or an n8n that is down fails before n8n holds
        # a credential with the client secret.
        n8n_session.sign_in()
        credential_id = _link_credential(n8n, link)
        if credential_id != link.existing:
            created_id = credential_id
        before = n8n_session.oauth2_connection(credential_id)
        consent_url = n8n_session.oauth2_consent_url(credential_id)
    except N8nError as e:
        logger.warning("connect %s: n8n could not start the flow: %s", link.request_id, e)
        if created_id is not None:  # nothing holding the client secret stays behind
            _delete_quietly(n8n, created_id, link.request_id)
        with session_factory.begin() as session:
            failed = session.get(ConnectRequest, link.request_id)
            if failed is not None:
                failed.outcome = "failed"
        raise LinkRefused(
            "n8n could not start the connection right now. Try again in a minute with a new "
            "link; if it keeps failing, tell your Clixen operator."
        ) from e
    with session_factory.begin() as session:
        opened = session.get(ConnectRequest, link.request_id)
        assert opened is not None
        opened.n8n_credential_id = credential_id
        opened.n8n_updated_at = before.updated_at
    logger.info("connect %s: consent page for %s handed out", link.request_id, link.service.name)
    return consent_url


@dataclass(frozen=True)
class _UsedLink:
    """A link used up, with what its n8n credential gets: the service, the OAuth app's `data`,
    and the user's own account's credential to reuse (`existing`) when this is a reconnect."""

    request_id: int
    project_id: int
    service: Service
    data: dict[str, Any]
    existing: str | None


def _use_link(
    session_factory: sessionmaker[Session], state: str, key: str, now: dt.datetime
) -> _UsedLink:
    """Mark the link used (committed even when it is refused: a state seen once, e.g. in a log
    or a browser's history, never opens anything later); LinkRefused when it cannot be used."""
    refused: ClixenError | None = None
    with session_factory.begin() as session:
        try:
            request = _claim(session, state, now)
        except LinkRefused as e:
            refused = e  # raised once what it marked (a spent link) is committed
        else:
            service = service_named(request.service)
            data: dict[str, Any] = {}
            try:
                data = credential_data(session=session, service=service, key=key)
            except ClixenError as e:
                request.outcome = "failed"  # used up even so (committed below)
                refused = e
            # A reconnect of the user's own account reuses its credential (workflows keep
            # their binding; only this user's links can finish on it); any other link gets a
            # credential of its own, so one user's consent never completes another's link.
            mine = own_account(
                session,
                project_id=request.project_id,
                service=service.name,
                user_id=request.user_id,
            )
            existing = mine.n8n_credential_id if mine is not None else None
            link = _UsedLink(request.id, request.project_id, service, data, existing)
    if isinstance(refused, LinkRefused):
        raise refused
    if refused is not None:
        raise LinkRefused(str(refused)) from refused
    return link


def _link_credential(n8n: N8nClient, link: _UsedLink) -> str:
    """The n8n credential the consent writes its token into: the reconnected account's, updated,
    else a new one (deleted again if n8n then fails: nothing holding the client secret stays
    behind)."""
    # The name deploys give the node's credential reference (n8n renames a mismatched one).
    name = f"clixen-p{link.project_id}-{secret_name_of(link.service.name)}"
    ctype = link.service.credential_type
    if link.existing is not None:
        try:
            n8n.update_credential(link.existing, name=name, type=ctype, data=link.data)
            return link.existing
        except N8nNotFound:  # deleted in n8n meanwhile: connect a new one
            logger.warning("connect %s: the account's n8n credential is gone", link.request_id)
    return str(n8n.create_credential(name=name, type=ctype, data=link.data)["id"])


def _delete_quietly(n8n: N8nClient, credential_id: str, request_id: int) -> None:
    try:
        n8n.delete_credential(credential_id)
    except N8nNotFound:
        pass
    except N8nError as e:  # n8n down: the connect watch's sweep cannot know this one; say so
        logger.error(
            "connect %s: could not delete n8n credential %s after a failed start (%s); "
            "delete it in n8n",
            request_id,
            credential_id,
            e,
        )
