"""The HTTP API: list workflows, list versions, roll back — for one project per API token.

Every response is JSON with secure headers; errors are `{"error": {"code", "message"}}` with the
stable codes in `api.middleware.ERROR_STATUS`. A token of project A gets 404 for anything of
project B (the same answer as for an id that does not exist, so existence never leaks).
Parameters are parsed strictly by `api.params`; what each endpoint does is a plain function in
`api.handlers`; the routes here only parse, call in a worker thread and answer.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api import handlers
from api.handlers import ApiDeps
from api.middleware import (
    ERROR_STATUS,
    MAX_BODY_BYTES,
    BodySizeLimit,
    RequestMetrics,
    SecureHeaders,
    TooLarge,
    error_response,
)
from api.params import (
    idempotency_key_of,
    json_body,
    page_cursor,
    page_limit,
    query_param,
    rollback_version,
    workflow_id_of,
)
from api.ratelimit import RateLimit
from core.kernel.errors import user_message
from core.kernel.settings import Settings
from core.n8n import N8nClient
from core.workspace import api_tokens

log = logging.getLogger(__name__)

PREFIX = "/api/v1"

Handler = Callable[[Request], Awaitable[Response]]


def endpoint(fn: Handler) -> Handler:
    """Known errors as their stable JSON codes; anything else as an error id that is logged."""

    async def wrapped(request: Request) -> Response:
        try:
            return await fn(request)
        except api_tokens.InvalidToken as e:
            return error_response("unauthorized", str(e), headers={"WWW-Authenticate": "Bearer"})
        except TooLarge:
            raise  # BodySizeLimit answers 413
        except Exception as e:
            told = user_message(e, log=log, where=f"{request.method} {request.url.path}")
            code = told.code if told.code in ERROR_STATUS else "invalid_input"
            return error_response(code, told.text)

    return wrapped


def _deps(request: Request) -> ApiDeps:
    deps: ApiDeps = request.app.state.deps
    return deps


def _authorization(request: Request) -> str:
    return request.headers.get("authorization", "")


@endpoint
async def list_workflows(request: Request) -> Response:
    limit = page_limit(query_param(request, "limit"))
    cursor = page_cursor(query_param(request, "cursor"))
    body = await run_in_threadpool(
        lambda: handlers.list_workflows(
            _deps(request), authorization=_authorization(request), limit=limit, cursor=cursor
        )
    )
    return JSONResponse(body)


@endpoint
async def list_versions(request: Request) -> Response:
    workflow_id = workflow_id_of(request)
    body = await run_in_threadpool(
        lambda: handlers.list_versions(
            _deps(request), authorization=_authorization(request), workflow_id=workflow_id
        )
    )
    return JSONResponse(body)


@endpoint
async def rollback(request: Request) -> Response:
    deps, workflow_id = _deps(request), workflow_id_of(request)
    # Authenticate before reading the body: no parsing work for anonymous callers.
    caller = await run_in_threadpool(
        lambda: handlers.rollback_caller(
            deps, authorization=_authorization(request), workflow_id=workflow_id
        )
    )
    version = rollback_version(await json_body(request))
    idempotency_key = idempotency_key_of(request)
    body = await run_in_threadpool(
        lambda: handlers.rollback(
            deps,
            caller=caller,
            workflow_id=workflow_id,
            version=version,
            idempotency_key=idempotency_key,
        )
    )
    return JSONResponse(body)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        return error_response(
            "method_not_allowed", f"{request.method} is not allowed on {request.url.path}."
        )
    if exc.status_code == 404:
        return error_response("not_found", f"There is no endpoint {request.url.path}.")
    return JSONResponse(
        {"error": {"code": f"http_{exc.status_code}", "message": str(exc.detail)}},
        status_code=exc.status_code,
    )


def create_api_app(
    *,
    session_factory: sessionmaker[Session],
    settings: Settings,
    n8n: N8nClient | None = None,
    n8n_factory: Callable[[], N8nClient] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Starlette:
    """The HTTP API as a Starlette app (routes under /api/v1), to mount beside /slack/events.

    `n8n` is a shared client (kept open), or `n8n_factory` makes one per rollback (closed after).
    `clock` times the rate limits (`api.ratelimit`).
    """
    deps = ApiDeps(
        session_factory=session_factory, settings=settings, n8n=n8n, n8n_factory=n8n_factory
    )
    origins = [o.strip() for o in settings.allowed_origins.split(",") if o.strip()]
    routes = [
        Route(f"{PREFIX}/workflows", list_workflows, methods=["GET"]),
        # The id is parsed by the endpoint, so a malformed one answers 400, not 404.
        Route(f"{PREFIX}/workflows/{{workflow_id}}/versions", list_versions, methods=["GET"]),
        Route(f"{PREFIX}/workflows/{{workflow_id}}/rollback", rollback, methods=["POST"]),
    ]
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(RequestMetrics, routes=routes),
            Middleware(SecureHeaders),
            Middleware(
                CORSMiddleware,
                allow_origins=origins,
                allow_methods=["GET", "POST"],
                allow_headers=["Authorization", "Content-Type", "Idempotency-Key"],
                expose_headers=["Retry-After"],
                max_age=600,
            ),
            Middleware(
                RateLimit,
                per_address=settings.api_rate_per_address,
                per_token=settings.api_rate_per_token,
                clock=clock,
            ),
            Middleware(BodySizeLimit, max_bytes=MAX_BODY_BYTES),
        ],
        exception_handlers={HTTPException: http_error},
    )
    app.state.deps = deps
    return app
