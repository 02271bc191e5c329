"""The HTTP API: list workflows, list versions, roll back — for one project per API token.

Every response is JSON with secure headers; errors are `{"error": {"code", "message"}}` with the
stable codes in `api.middleware.ERROR_STATUS`. A token of project A gets 404 for anything of
project B (the same answer as for an id that does not exist, so existence never leaks).
Parameters are parsed strictly by `api.params`.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from core import api_tokens, workflows
from core.errors import ClixenError
from core.n8n import N8nClient
from core.projects import Actor, Role
from core.settings import Settings

if TYPE_CHECKING:
    from core.models import ApiToken, Project, Workflow, WorkflowVersion
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

log = logging.getLogger(__name__)


PREFIX = "/api/v1"


# --- serialisation ----------------------------------------------------------------------------


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def workflow_json(wf: Workflow) -> dict[str, Any]:
    return {
        "id": wf.id,
        "name": wf.name,
        "description": wf.description,
        "status": wf.status,
        "head_version": wf.head_version,
        "n8n_workflow_id": wf.n8n_workflow_id,
        "last_execution_status": wf.last_execution_status,
        "last_execution_at": _iso(wf.last_execution_at),
        "created_at": _iso(wf.created_at),
        "updated_at": _iso(wf.updated_at),
    }


def version_json(v: WorkflowVersion) -> dict[str, Any]:
    return {
        "version": v.version,
        "status": v.status,
        "source": v.source,
        "checksum": v.checksum,
        "created_by": v.created_by,
        "rolled_back_from": v.rolled_back_from,
        "created_at": _iso(v.created_at),
        "deployed_at": _iso(v.deployed_at),
    }


# --- the app ----------------------------------------------------------------------------------

Handler = Callable[[Request], Awaitable[Response]]


def create_api_app(
    *,
    session_factory: sessionmaker[Session],
    settings: Settings,
    n8n: N8nClient | None = None,
    n8n_factory: Callable[[], N8nClient] | None = None,
) -> Starlette:
    """The HTTP API as a Starlette app (routes under /api/v1), to mount beside /slack/events.

    `n8n` is a shared client (kept open), or `n8n_factory` makes one per rollback (closed after).
    """
    if (n8n is None) == (n8n_factory is None):
        raise ValueError("pass exactly one of n8n or n8n_factory")

    def with_n8n(fn: Callable[[N8nClient], Any]) -> Any:
        if n8n is not None:
            return fn(n8n)
        assert n8n_factory is not None
        client = n8n_factory()
        try:
            return fn(client)
        finally:
            client.close()

    def authenticate(
        request: Request, session: Session, at_least: Role = Role.viewer
    ) -> tuple[Project, ApiToken]:
        """The token's project, if its creator still has `at_least` rights there."""
        header = request.headers.get("authorization", "")
        scheme, _, raw = header.partition(" ")
        if scheme.lower() != "bearer":
            raise api_tokens.InvalidToken()
        return api_tokens.authenticate(session=session, raw_token=raw.strip(), at_least=at_least)

    def endpoint(fn: Handler) -> Handler:
        async def wrapped(request: Request) -> Response:
            try:
                return await fn(request)
            except api_tokens.InvalidToken as e:
                return error_response(
                    "unauthorized", str(e), headers={"WWW-Authenticate": "Bearer"}
                )
            except TooLarge:
                raise  # BodySizeLimit answers 413
            except ClixenError as e:
                code = e.code if e.code in ERROR_STATUS else "invalid_input"
                return error_response(code, str(e))
            except Exception:
                error_id = uuid.uuid4().hex[:12]
                log.exception("API error %s on %s %s", error_id, request.method, request.url.path)
                return error_response(
                    "internal_error", f"Something went wrong (error id {error_id})."
                )

        return wrapped

    @endpoint
    async def list_workflows(request: Request) -> Response:
        limit = page_limit(query_param(request, "limit"))
        cursor = page_cursor(query_param(request, "cursor"))

        def run() -> dict[str, Any]:
            with session_factory.begin() as session:
                project, _ = authenticate(request, session)
                page = workflows.list_workflows(
                    session=session, project_id=project.id, limit=limit, cursor=cursor
                )
                return {
                    "items": [workflow_json(w) for w in page.items],
                    "next_cursor": page.next_cursor,
                    "prev_cursor": page.prev_cursor,
                }

        return JSONResponse(await run_in_threadpool(run))

    @endpoint
    async def list_versions(request: Request) -> Response:
        workflow_id = workflow_id_of(request)

        def run() -> dict[str, Any]:
            with session_factory.begin() as session:
                project, _ = authenticate(request, session)
                wf = workflows.get_project_workflow(
                    session=session, project_id=project.id, workflow_id=workflow_id
                )
                versions = workflows.list_versions(session=session, workflow_id=wf.id)
                return {
                    "workflow": workflow_json(wf),
                    "items": [version_json(v) for v in versions],
                }

        return JSONResponse(await run_in_threadpool(run))

    @endpoint
    async def rollback(request: Request) -> Response:
        from core.deploy import rollback_to  # the deploy service pulls in n8n and validation

        workflow_id = workflow_id_of(request)

        def check() -> tuple[int, Actor]:
            with session_factory.begin() as session:
                project, token = authenticate(request, session, Role.editor)
                workflows.get_project_workflow(
                    session=session, project_id=project.id, workflow_id=workflow_id
                )
                # A token acts with its creator's rights in its own project, never beyond.
                return project.id, Actor(team_id=project.team_id, user_id=token.created_by)

        # Authenticate before reading the body: no parsing work for anonymous callers.
        project_id, actor = await run_in_threadpool(check)
        version = rollback_version(await json_body(request))
        idempotency_key = idempotency_key_of(request)

        def run(client: N8nClient) -> WorkflowVersion:
            return rollback_to(
                session_factory=session_factory,
                n8n=client,
                workflow_id=workflow_id,
                version=version,
                actor=actor,
                idempotency_key=f"api:{project_id}:{idempotency_key}" if idempotency_key else None,
                settings=settings,
            )

        new = await run_in_threadpool(with_n8n, run)
        return JSONResponse({"version": version_json(new)})

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

    origins = [o.strip() for o in settings.allowed_origins.split(",") if o.strip()]
    routes = [
        Route(f"{PREFIX}/workflows", list_workflows, methods=["GET"]),
        # The id is parsed by the endpoint, so a malformed one answers 400, not 404.
        Route(f"{PREFIX}/workflows/{{workflow_id}}/versions", list_versions, methods=["GET"]),
        Route(f"{PREFIX}/workflows/{{workflow_id}}/rollback", rollback, methods=["POST"]),
    ]
    return Starlette(
        routes=routes,
        middleware=[
            Middleware(RequestMetrics, routes=routes),
            Middleware(SecureHeaders),
            Middleware(
                CORSMiddleware,
                allow_origins=origins,
                allow_methods=["GET", "POST"],
                allow_headers=["Authorization", "Content-Type", "Idempotency-Key"],
                max_age=600,
            ),
            Middleware(BodySizeLimit, max_bytes=MAX_BODY_BYTES),
        ],
        exception_handlers={HTTPException: http_error},
    )
