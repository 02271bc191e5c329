"""`GET /oauth/start?state=…`: where a "Connect <service>" link takes the user's browser.

The link's state is used once (`core.connect.open_link`): Clixen writes the n8n credential,
asks n8n (server-side, with its own n8n session, which never reaches the browser) for the
provider's consent URL and redirects there. After consent the provider sends the browser to
n8n's OAuth2 callback (N8N_EDITOR_BASE_URL must be reachable by the user's browser), where n8n
stores the token; Clixen's connect watch then binds the account and resumes the waiting run.
A link that is unknown, already used, expired or no longer allowed gets a plain page saying why
and what to do; nothing about the request is echoed back.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from core.connect import START_PATH, LinkRefused, open_link
from core.kernel.errors import ClixenError
from core.kernel.settings import Settings
from core.n8n import N8nClient
from core.n8n.session import N8nUserSession

log = logging.getLogger(__name__)

# The state is in the URL: never let it leak through a Referer or a cache.
_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
}
MAX_STATE_CHARS = 200

OpenLink = Callable[[str], str]
"""Uses a link's state once and answers the consent URL (raises LinkRefused)."""


def page(title: str, message: str, *, status: int) -> HTMLResponse:
    """A small self-contained page (no script, nothing loaded from elsewhere)."""
    body = (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;max-width:36em;margin:4em auto;color:#333}</style>"
        f"</head><body><h1>{html.escape(title)}</h1><p>{html.escape(message)}</p></body></html>"
    )
    return HTMLResponse(body, status_code=status, headers=_HEADERS)


def link_opener(
    *, settings: Settings, session_factory: sessionmaker[Session], n8n: N8nClient | None
) -> OpenLink | None:
    """`open_link` bound to this server's database, n8n and n8n session (the session lives as
    long as the process); None when the settings do not allow connecting accounts."""
    if not (
        n8n is not None
        and settings.n8n_owner_email
        and settings.n8n_owner_password
        and settings.secret_key
    ):
        return None
    n8n_session = N8nUserSession.from_settings(settings)
    key = settings.secret_key

    def opener(state: str) -> str:
        return open_link(
            session_factory=session_factory,
            n8n=n8n,
            n8n_session=n8n_session,
            state=state,
            key=key,
        )

    return opener


def connect_routes(open_link: OpenLink | None) -> list[Route]:
    """The route of Connect links; `open_link` None when this server cannot connect accounts
    (then the page names what the operator must set)."""

    async def start(request: Request) -> Response:
        state = request.query_params.get("state", "")
        if not state or len(state) > MAX_STATE_CHARS:
            return page(
                "Link not valid",
                "This connect link is incomplete. Open the link from Slack again, or ask for a "
                "new one with /clixen connect SERVICE.",
                status=400,
            )
        if open_link is None:
            return page(
                "Connecting is not set up",
                "This Clixen server cannot connect accounts yet: the operator sets "
                "N8N_OWNER_EMAIL, N8N_OWNER_PASSWORD and CLIXEN_SECRET_KEY.",
                status=503,
            )
        try:
            consent_url = await run_in_threadpool(open_link, state)
        except LinkRefused as e:
            return page("Cannot connect with this link", str(e), status=400)
        except ClixenError as e:
            log.warning("connect link failed: %s", e)
            return page("Cannot connect right now", str(e), status=503)
        return RedirectResponse(consent_url, status_code=302, headers=_HEADERS)

    return [Route(START_PATH, start, methods=["GET"])]
