"""What every API response goes through: stable error codes and the JSON error body, secure
headers, a request body size limit (413), and request metrics by route template and status."""

from __future__ import annotations

import time
from collections.abc import Sequence

from prometheus_client import Counter, Histogram
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY_BYTES = 64 * 1024


# Stable error codes and their HTTP statuses (clients switch on `code`, never on `message`).
ERROR_STATUS: dict[str, int] = {
    "malformed_json": 400,
    "invalid_input": 400,
    "unauthorized": 401,
    "forbidden": 403,
    "not_found": 404,
    "method_not_allowed": 405,
    "deploy_busy": 409,
    "review_pending": 202,  # review before live: accepted, waits for a project owner
    "payload_too_large": 413,
    "unsupported_media_type": 415,
    "validation_failed": 422,
    "credentials_missing": 422,
    "quota_exceeded": 429,
    "rate_limited": 429,
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


class TooLarge(Exception):
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
                    raise TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except TooLarge:
            if not started:
                await too_large(scope, receive, send)


HTTP_REQUESTS = Counter(
    "clixen_http_requests",
    "HTTP API requests, by route template, method and status.",
    ["route", "method", "status"],
)
HTTP_SECONDS = Histogram(
    "clixen_http_request_seconds",
    "Time to answer an HTTP API request, by route template.",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)


# The `method` label: any other request-line method (anyone can send `FOO /x`) counts as
# `other`, so the series stay a fixed set whatever the internet sends.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def method_label(method: str) -> str:
    return method if method in METHODS else "other"


def status_label(status: int) -> str:
    """The status as sent when it is a real HTTP status, else `other`."""
    return str(status) if 100 <= status <= 599 else "other"


class RequestMetrics:
    """Counts and times every request under its route template (`/api/v1/workflows/{workflow_id}
    /versions`, never the raw path; `unmatched` for any other path), its method (`other` beyond
    METHODS) and its final status: every label value is from a fixed set."""

    def __init__(self, app: ASGIApp, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.routes = routes

    def route_of(self, scope: Scope) -> str:
        for route in self.routes:
            match, _ = route.matches(scope)
            if match != Match.NONE and isinstance(route, Route):
                return route.path
        return "unmatched"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        route = self.route_of(scope)
        status = 500  # unless a response starts
        started = time.perf_counter()

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            HTTP_REQUESTS.labels(route, method_label(scope["method"]), status_label(status)).inc()
            HTTP_SECONDS.labels(route).observe(time.perf_counter() - started)
