"""HTTP mode (Starlette on uvicorn) and Socket Mode runners for the Bolt app."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from core.settings import PURPOSE

log = logging.getLogger(__name__)


def create_server_app(
    bolt_app: App | None,
    *,
    api_app: Any = None,
    slack_route: bool = True,
    slack_missing: Sequence[str] = (),
) -> Starlette:
    """`POST /slack/events`, `GET /healthz`, and the HTTP API (if given) mounted beside them.

    Without a Bolt app (Slack not configured yet, development only) `/slack/events` answers 503
    with a JSON error naming `slack_missing`, the variables to set.
    """

    async def slack_events(request: Request) -> Response:
        if bolt_app is None:
            return slack_not_configured(slack_missing)
        body = await request.body()
        # Bolt's dispatch blocks until the listener acks: keep it off the event loop.
        bolt_response = await run_in_threadpool(bolt_app.dispatch, to_bolt_request(request, body))
        return to_starlette_response(bolt_response)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    routes: list[BaseRoute] = [Route("/healthz", healthz, methods=["GET"])]
    if slack_route:
        routes.append(Route("/slack/events", slack_events, methods=["POST"]))
    if api_app is not None:
        routes.append(Mount("/", app=api_app))
    return Starlette(routes=routes)


def slack_not_configured(missing: Sequence[str]) -> Response:
    """The answer of /slack/events while Slack is not configured: 503 naming what to set."""
    return JSONResponse(
        {
            "error": {
                "code": "slack_not_configured",
                "message": "Slack is not configured on this server: set "
                + ", ".join(f"{name} ({PURPOSE.get(name, name)})" for name in missing)
                + ", then restart `clixen serve`.",
                "missing": list(missing),
            }
        },
        status_code=503,
    )


# CPython hands the GIL to a waiting thread only after the holder ran this long (default 5 ms).
# A request's ack crosses several threads (event loop, dispatch, listener); behind busy run
# workers each crossing can cost a full interval, so this process prefers shorter turns.
GIL_SWITCH_INTERVAL_S = float(os.environ.get("CLIXEN_GIL_SWITCH_INTERVAL_S", "0.001"))


def prefer_short_gil_turns() -> None:
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)


def serve_http(asgi_app: Starlette, *, port: int) -> None:
    """Serve on `port` until interrupted (HOST defaults to all interfaces, for containers)."""
    import uvicorn

    prefer_short_gil_turns()
    host = os.environ.get("HOST", "0.0.0.0")  # noqa: S104 (a server behind TLS termination)
    uvicorn.run(asgi_app, host=host, port=port, log_config=None, proxy_headers=True)


def serve_socket_mode(bolt_app: App, *, app_token: str, http_app: Starlette, port: int) -> None:
    """Socket Mode for Slack, plus /healthz and the HTTP API on `port`."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    handler = SocketModeHandler(bolt_app, app_token)
    handler.connect()  # type: ignore[no-untyped-call]
    log.info("connected to Slack in Socket Mode")
    try:
        serve_http(http_app, port=port)
    finally:
        handler.close()  # type: ignore[no-untyped-call]
