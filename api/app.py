"""The HTTP API: list workflows, list versions, roll back — for one project per API token.

Every response is JSON with secure headers; errors are `{"error": {"code", "message"}}` with the
stable codes in ERROR_STATUS. A token of project A gets 404 for anything of project B (the same
answer as for an id that does not exist, so existence never leaks).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
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
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core import api_tokens, workflows
from core.errors import ClixenError, InvalidInput
from core.n8n import N8nClient
from core.projects import Actor, Role
from core.settings import Settings

if TYPE_CHECKING:
    from core.models import ApiToken, Project, Workflow, WorkflowVersion

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


# --- parameters: strict (ASCII digits only, documented ranges, each given once) ---------------

MAX_WORKFLOW_ID = 2**63 - 1  # workflow ids are Postgres bigints
MAX_VERSION = 2**31 - 1  # version numbers are Postgres integers
DEFAULT_PAGE_LIMIT = 20
_IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,120}")  # printable ASCII, no spaces


def whole_number(raw: str, *, low: int, high: int, error: str) -> int:
    """`raw` as an int when it is only ASCII digits and within [low, high]; InvalidInput with
    `error` otherwise (so "²", "-1", "1e3", " 5", "+5" and "" are all refused, never guessed)."""
    if not (raw.isascii() and raw.isdigit()) or len(raw) > len(str(high)):
        raise InvalidInput(error)
    value = int(raw)
    if not low <= value <= high:
        raise InvalidInput(error)
    return value


def query_param(request: Request, name: str) -> str | None:
    """The query parameter's one value (None when absent); InvalidInput when given twice."""
    values = request.query_params.getlist(name)
    if len(values) > 1:
        raise InvalidInput(f"Give {name} once.")
    return values[0] if values else None


def page_limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_PAGE_LIMIT
    high = workflows.MAX_PAGE_SIZE
    return whole_number(raw, low=1, high=high, error=f"limit must be a whole number 1 to {high}.")


def page_cursor(raw: str | None) -> str | None:
    """The cursor as sent (core checks it is one of ours); an empty one is refused."""
    if raw == "":
        raise InvalidInput("cursor is empty: leave it out for the first page.")
    return raw


def workflow_id_of(request: Request) -> int:
    return whole_number(
        request.path_params["workflow_id"],
        low=1,
        high=MAX_WORKFLOW_ID,
        error="A workflow id is a whole number (1 or more), as in /api/v1/workflows/42/versions.",
    )


def rollback_version(body: dict[str, Any]) -> int:
    """`N` of the rollback body `{"version": N}`: a JSON integer (not true, "1" or 1.0)."""
    version = body.get("version")
    if set(body) != {"version"} or type(version) is not int or not 1 <= version <= MAX_VERSION:
        raise InvalidInput('Send {"version": N} with N a version number (1 or more).')
    return version


def idempotency_key_of(request: Request) -> str | None:
    key = request.headers.get("idempotency-key")
    if key is not None and not _IDEMPOTENCY_KEY.fullmatch(key):
        raise InvalidInput("Idempotency-Key must be 1 to 120 printable ASCII characters.")
    return key


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
        version = rollback_version(await _json_body(request))
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
    return Starlette(
        routes=[
            Route(f"{PREFIX}/workflows", list_workflows, methods=["GET"]),
            # The id is parsed by the endpoint, so a malformed one answers 400, not 404.
            Route(f"{PREFIX}/workflows/{{workflow_id}}/versions", list_versions, methods=["GET"]),
            Route(f"{PREFIX}/workflows/{{workflow_id}}/rollback", rollback, methods=["POST"]),
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
        body = json.loads(raw, object_pairs_hook=_unique_keys, parse_constant=_no_constant)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise _MalformedJSON(f"The body is not valid JSON: {getattr(e, 'msg', e)}.") from e
    except RecursionError as e:
        raise _MalformedJSON("The body's JSON is nested too deeply.") from e
    if not isinstance(body, dict):
        raise _MalformedJSON("The body must be a JSON object.")
    return body


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    body = dict(pairs)
    if len(body) != len(pairs):
        raise _MalformedJSON("The body's JSON gives a key twice.")
    return body


def _no_constant(name: str) -> Any:
    raise _MalformedJSON(f"The body's JSON has {name}, which JSON does not allow.")
