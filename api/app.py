"""The HTTP API: list workflows, list versions, roll back — for one project per API token.

Every response is JSON with secure headers; errors are `{"error": {"code", "message"}}` with the
stable codes in ERROR_STATUS. A token of project A gets 404 for anything of project B (the same
answer as for an id that does not exist, so existence never leaks).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core import api_tokens, workflows
from core.errors import ClixenError, InvalidInput, NotFound
from core.models import ApiToken, Project, Workflow, WorkflowVersion
from core.n8n import N8nClient
from core.projects import Actor
from core.settings import Settings

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
PREFIX = "/api/v1"

# Stable error codes and their HTTP statuses (clients switch on `code`, never on `message`).
ERROR_STATUS: dict[str, int] = {
    "malformed_json": 400,
    "invalid_input": 400,
    "unauthorized": 401,
    "forbidden": 403,
    "not_found": 404,
    "method_not_allowed": 405,
    "deploy_busy": 409,
    "payload_too_large": 413,
    "unsupported_media_type": 415,
    "validation_failed": 422,
    "quota_exceeded": 429,
    "internal_error": 500,
    "deploy_failed": 502,
    "n8n_error": 502,
    "settings": 503,
}

SECURE_HEADERS: list[tuple[bytes, bytes]] = [
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
    (b"strict-transport-security", b"max-age=63072000; includeSubDomains"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cache-control", b"no-store"),
]


def error_response(code: str, message: str, *, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(
        {"error": {"code": code, "message": message}},
        status_code=ERROR_STATUS.get(code, 400),
        headers=headers,
    )


class SecureHeaders:
    """Adds SECURE_HEADERS to every response (errors and CORS preflights included)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in SECURE_HEADERS if k not in present]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class _TooLarge(Exception):
    pass


class BodySizeLimit:
    """Answers 413 for a body above `max_bytes`, by Content-Length or while it streams in."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_large = error_response(
            "payload_too_large", f"The request body is larger than {self.max_bytes:,} bytes."
        )
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared < 0 or declared > self.max_bytes:
                    await too_large(scope, receive, send)
                    return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await too_large(scope, receive, send)


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

    def authenticate(request: Request, session: Session) -> tuple[Project, ApiToken]:
        header = request.headers.get("authorization", "")
        scheme, _, raw = header.partition(" ")
        if scheme.lower() != "bearer":
            raise api_tokens.InvalidToken()
        return api_tokens.authenticate(session=session, raw_token=raw.strip())

    def project_workflow(session: Session, project: Project, workflow_id: int) -> Workflow:
        wf = session.get(Workflow, workflow_id)
        # Another project's workflow answers exactly like a missing one.
        if wf is None or wf.project_id != project.id or wf.status == "deleted":
            raise NotFound(f"There is no workflow #{workflow_id}.")
        return wf

    def endpoint(fn: Handler) -> Handler:
        async def wrapped(request: Request) -> Response:
            try:
                return await fn(request)
            except api_tokens.InvalidToken as e:
                return error_response(
                    "unauthorized", str(e), headers={"WWW-Authenticate": "Bearer"}
                )
            except _TooLarge:
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
        raw_limit = request.query_params.get("limit", "20")
        if not raw_limit.isdigit():
            raise InvalidInput("limit must be a whole number from 1 to 100.")
        cursor = request.query_params.get("cursor") or None

        def run() -> dict[str, Any]:
            with session_factory.begin() as session:
                project, _ = authenticate(request, session)
                page = workflows.list_workflows(
                    session=session, project_id=project.id, limit=int(raw_limit), cursor=cursor
                )
                return {
                    "items": [workflow_json(w) for w in page.items],
                    "next_cursor": page.next_cursor,
                    "prev_cursor": page.prev_cursor,
                }

        return JSONResponse(await run_in_threadpool(run))

    @endpoint
    async def list_versions(request: Request) -> Response:
        workflow_id = request.path_params["workflow_id"]

        def run() -> dict[str, Any]:
            with session_factory.begin() as session:
                project, _ = authenticate(request, session)
                wf = project_workflow(session, project, workflow_id)
                versions = workflows.list_versions(session=session, workflow_id=wf.id)
                return {
                    "workflow": workflow_json(wf),
                    "items": [version_json(v) for v in versions],
                }

        return JSONResponse(await run_in_threadpool(run))

    @endpoint
    async def rollback(request: Request) -> Response:
        from core.deploy import rollback_to  # the deploy service pulls in n8n and validation

        workflow_id = request.path_params["workflow_id"]

        def check() -> tuple[int, Actor]:
            with session_factory.begin() as session:
                project, token = authenticate(request, session)
                project_workflow(session, project, workflow_id)
                # A token acts with its creator's rights in its own project, never beyond.
                return project.id, Actor(team_id=project.team_id, user_id=token.created_by)

        # Authenticate before reading the body: no parsing work for anonymous callers.
        project_id, actor = await run_in_threadpool(check)
        body = await _json_body(request)
        version = body.get("version")
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise InvalidInput('Send {"version": N} with N a version number (1 or more).')
        idempotency_key = request.headers.get("idempotency-key")
        if idempotency_key is not None and not 1 <= len(idempotency_key) <= 120:
            raise InvalidInput("Idempotency-Key must be 1 to 120 characters.")

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
    return Starlette(
        routes=[
            Route(f"{PREFIX}/workflows", list_workflows, methods=["GET"]),
            Route(
                f"{PREFIX}/workflows/{{workflow_id:int}}/versions", list_versions, methods=["GET"]
            ),
            Route(f"{PREFIX}/workflows/{{workflow_id:int}}/rollback", rollback, methods=["POST"]),
        ],
        middleware=[
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


class _MalformedJSON(ClixenError):
    code = "malformed_json"


class _UnsupportedMediaType(ClixenError):
    code = "unsupported_media_type"


async def _json_body(request: Request) -> dict[str, Any]:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/json":
        raise _UnsupportedMediaType("Send the body as JSON (Content-Type: application/json).")
    raw = await request.body()
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise _MalformedJSON(f"The body is not valid JSON: {getattr(e, 'msg', e)}.") from e
    if not isinstance(body, dict):
        raise _MalformedJSON("The body must be a JSON object.")
    return body
