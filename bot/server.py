"""HTTP mode (Starlette on uvicorn) and Socket Mode runners for the Bolt app."""

from __future__ import annotations

import contextlib
import json
import logging
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from types import FrameType
from typing import Any
from urllib.parse import parse_qs

from slack_bolt import App, BoltRequest
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from slack_sdk.signature import SignatureVerifier
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from bot.metrics import acknowledged, surface_of
from bot.pools import WorkerPool
from core.kernel.settings import PURPOSE, Settings

log = logging.getLogger(__name__)


# Threads that hand an already acknowledged request to Bolt; its listeners hand their work on at
# once. Few on purpose: every extra busy thread competes with the event loop (which answers Slack)
# for the GIL; under a burst, fewer threads meant p99 ack 35-48 ms instead of 120-150 ms
# (benchmarks/slack_ack.py). Queued requests are already acknowledged; they only wait their turn.
DISPATCH_THREADS = 2

# Kinds whose acknowledgement carries no body: the server answers 200 itself, before Bolt.
FAST_ACK_KINDS = frozenset({"event_callback", "slash_command", "block_actions"})

# Slack's payloads are a few KiB (a large modal's state stays far below this); a bigger body is
# not from Slack and is refused before it is read.
MAX_SLACK_BODY_BYTES = 256 * 1024

# What stores a verified event before it is acknowledged (raw body, headers): True when it
# stored (or found stored) all it needed, False when it had nothing to store.
StoreEvent = Callable[[bytes, Headers], bool]
# Set in the Bolt context of a request `store_event` stored before the ack (not stored again).
EVENT_STORED = "clixen_event_stored"

# Slack's signatures are good for five minutes (slack_sdk refuses older timestamps): a request
# whose exact signature was already served within that window is a replay, not Slack.
REPLAY_WINDOW_S = 5 * 60


class ReplayGuard:
    """The signatures this process served in the last REPLAY_WINDOW_S: a second request with the
    same one (same timestamp, same body) is answered 200 and not handled again. Slack signs every
    delivery, retries included, anew; an event's retry is also deduplicated by its event id."""

    def __init__(self, window_s: float = REPLAY_WINDOW_S) -> None:
        self._window_s = window_s
        self._expiring: deque[tuple[float, str]] = deque()  # oldest first
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def first_time(self, signature: str) -> bool:
        now = time.monotonic()
        with self._lock:
            while self._expiring and self._expiring[0][0] < now:
                self._seen.discard(self._expiring.popleft()[1])
            if signature in self._seen:
                return False
            self._seen.add(signature)
            self._expiring.append((now + self._window_s, signature))
            return True

    def forget(self, signature: str) -> None:
        """`signature` was not handled after all (answered 5xx): the same request may come
        again."""
        with self._lock:
            self._seen.discard(signature)


# An acknowledged request that waited this long for a dispatch thread is logged: the pool is
# too small for the load (it still runs; see `create_server_app`).
SLOW_DISPATCH_S = 30.0


def create_server_app(
    bolt_app: App | None,
    *,
    signing_secret: str | None = None,
    api_app: Any = None,
    slack_route: bool = True,
    slack_missing: Sequence[str] = (),
    extra_routes: Sequence[BaseRoute] = (),
    store_event: StoreEvent | None = None,
) -> Starlette:
    """`POST /slack/events`, `GET /healthz`, `extra_routes` (`/readyz`, `/metrics`,
    `/oauth/start`), and the HTTP API (if given) mounted beside them. Each Slack request is
    counted and its ack timed.

    The server takes at most MAX_SLACK_BODY_BYTES (413 beyond, unread) and verifies Slack's
    signature itself, once, when the request arrives (401 when bad or stale; a signature it
    already served, a replay, gets 200 and nothing more: `ReplayGuard`); the Bolt app does
    not check it again (`bot.app.create_app`), so `signing_secret` is required with a Bolt app.
    Events, slash commands and button clicks are acknowledged with an empty 200 before Bolt
    runs — an event only once `store_event` (the bot's `trigger_intake`) stored what it must not
    lose (a 500 instead when that fails, so Slack sends it again; the request then reaches Bolt
    with `EVENT_STORED` in its context). Bolt then handles them on a dispatch thread and its own
    response is discarded, so listeners reply through `respond()` or the Web API, never in the
    ack body. However long such a request waits for a dispatch thread, it runs: its signature
    was good when Slack sent it.
    Everything else (modal submissions, URL verification, …) goes through Bolt and gets Bolt's
    response. `app.state.dispatcher` is the pool of dispatch threads (its `pending` counts the
    acknowledged requests not handled yet).

    Without a Bolt app (Slack not configured yet, development only) `/slack/events` answers 503
    with a JSON error naming `slack_missing`, the variables to set.
    """
    if bolt_app is not None and slack_route and not signing_secret:
        # Bolt trusts the server to have verified each request: never serve it unverified.
        raise ValueError("serving Slack over HTTP needs the signing secret to verify requests")
    verifier = SignatureVerifier(signing_secret) if signing_secret else None
    # Each request runs in its own copy of the context: its log fields never leak to the next.
    dispatcher = WorkerPool(DISPATCH_THREADS, thread_name_prefix="slack-dispatch")
    replays = ReplayGuard()

    async def slack_events(request: Request) -> Response:
        started = time.perf_counter()
        response, surface = await _answer_slack_request(
            request,
            bolt_app=bolt_app,
            verifier=verifier,
            dispatcher=dispatcher,
            slack_missing=slack_missing,
            replays=replays,
            store_event=store_event,
        )
        acknowledged(surface, started)
        return response

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        # Let acknowledged requests reach their listeners before the process's pools close.
        await run_in_threadpool(dispatcher.shutdown, True)

    routes: list[BaseRoute] = [Route("/healthz", _healthz, methods=["GET"]), *extra_routes]
    if slack_route:
        routes.append(Route("/slack/events", slack_events, methods=["POST"]))
    if api_app is not None:
        routes.append(Mount("/", app=api_app))
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.dispatcher = dispatcher
    return app


async def _healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def _answer_slack_request(
    request: Request,
    *,
    bolt_app: App | None,
    verifier: SignatureVerifier | None,
    dispatcher: WorkerPool,
    slack_missing: Sequence[str],
    replays: ReplayGuard,
    store_event: StoreEvent | None,
) -> tuple[Response, str]:
    """The answer to a request to /slack/events, and its `surface` label."""
    if bolt_app is None:
        return slack_not_configured(slack_missing), "refused"
    body = await read_capped_body(request, MAX_SLACK_BODY_BYTES)
    if isinstance(body, Response):
        return body, "refused"
    assert verifier is not None
    if not _signed_by_slack(verifier, body, request.headers):
        return JSONResponse({"error": "invalid request"}, status_code=401), "refused"
    signature = request.headers.get("x-slack-signature", "")
    if not replays.first_time(signature):
        log.warning("a Slack request was replayed (same signature): not handled again")
        return Response(status_code=200), "refused"
    kind = request_kind(body, request.headers.get("content-type", ""))
    if kind in FAST_ACK_KINDS:
        arrived = time.monotonic()
        context = None
        if kind == "event_callback" and store_event is not None:
            try:
                stored = await run_in_threadpool(store_event, body, request.headers)
            except Exception:  # not acknowledged: Slack sends it again
                log.exception("a Slack event could not be stored before its ack")
                replays.forget(signature)
                return _error(500, "not_stored", "The event was not stored."), "refused"
            context = {EVENT_STORED: True} if stored else None
        dispatcher.submit(
            _dispatch_acknowledged,
            bolt_app,
            kind,
            body,
            request.query_params,
            request.headers,
            arrived,
            context,
        )
        return Response(status_code=200), surface_of(kind)
    # Bolt's dispatch blocks until the listener acks: keep it off the event loop.
    bolt_response = await run_in_threadpool(bolt_app.dispatch, to_bolt_request(request, body))
    return to_starlette_response(bolt_response), surface_of(kind)


def _dispatch_acknowledged(
    bolt_app: App,
    kind: str,
    body: bytes,
    query: Any,
    headers: Any,
    arrived: float,
    context: dict[str, Any] | None = None,
) -> None:
    """Hand a request already answered 200 to Bolt, on a dispatch thread; Bolt's own response
    is only logged when it is an error."""
    waited = time.monotonic() - arrived
    if waited > SLOW_DISPATCH_S:
        log.warning("acknowledged Slack %s waited %.0f s for a dispatch thread", kind, waited)
    try:
        request = BoltRequest(
            body=body.decode("utf-8"), query=query, headers=headers, context=context
        )
        response = bolt_app.dispatch(request)
    except Exception:  # Bolt turns listener errors into the error handler; this is the rest
        log.exception("dispatching an acknowledged Slack %s failed", kind)
        return
    if response.status >= 400:
        log.warning("Bolt answered %s to an acknowledged Slack %s", response.status, kind)


async def read_capped_body(request: Request, limit: int) -> bytes | Response:
    """The request's body, or the error to answer: 413 when a declared Content-Length is above
    `limit` (nothing read) or the body streams past it (reading stops there), 400 for a
    Content-Length that is not a plain number."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not (declared.isascii() and declared.isdigit()):
            return _error(400, "invalid_request", "Content-Length is not a number.")
        if len(declared) > len(str(limit)) or int(declared) > limit:
            return _too_large(limit)
    chunks: list[bytes] = []
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            return _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(limit: int) -> Response:
    return _error(413, "payload_too_large", f"A Slack request body is at most {limit:,} bytes.")


def _error(status: int, code: str, message: str) -> Response:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def _signed_by_slack(verifier: SignatureVerifier, body: bytes, headers: Headers) -> bool:
    try:
        return verifier.is_valid(
            body=body,
            timestamp=headers.get("x-slack-request-timestamp"),
            signature=headers.get("x-slack-signature"),
        )
    except ValueError:  # a timestamp that is not a number
        return False


def request_kind(body: bytes, content_type: str) -> str | None:
    """What a verified Slack request is, as far as its acknowledgement goes: the Events API
    envelope's or the interactive payload's `type`, or `slash_command`; None when unreadable."""
    try:
        if content_type.startswith("application/json"):
            parsed = json.loads(body)
            return str(parsed.get("type")) if isinstance(parsed, dict) else None
        form = parse_qs(body.decode("utf-8"))
        if "payload" in form:
            payload = json.loads(form["payload"][0])
            return str(payload.get("type")) if isinstance(payload, dict) else None
        if "command" in form:
            return "slash_command"
    except (ValueError, UnicodeDecodeError):
        return None
    return None


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


def prefer_short_gil_turns(settings: Settings) -> None:
    """CPython hands the GIL to a waiting thread only after the holder ran this long (default
    5 ms). A request's ack crosses several threads (event loop, dispatch, listener); behind busy
    run workers each crossing can cost a full interval, so this process prefers shorter turns."""
    sys.setswitchinterval(settings.gil_switch_interval_s)


# On SIGTERM, HTTP requests already in flight get this long to finish (Slack's are answered at
# once; the API's are short).
HTTP_DRAIN_S = 5


def serve_http(
    asgi_app: Starlette,
    *,
    settings: Settings,
    on_stop: Callable[[], None] | None = None,
) -> None:
    """Serve on `settings.port` until SIGTERM or SIGINT (HOST defaults to all interfaces, for
    containers), then return: the listening socket closes at once (new requests go to another
    replica), requests in flight finish. `on_stop` runs when the signal arrives; the signal is
    not raised again afterwards, so the caller finishes stopping and the process exits 0."""
    import uvicorn

    class StoppingServer(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            if threading.current_thread() is not threading.main_thread():
                yield
                return
            signals = (signal.SIGINT, signal.SIGTERM)
            original = {sig: signal.signal(sig, self.stop_on) for sig in signals}
            try:
                yield
            finally:
                for sig, handler in original.items():
                    signal.signal(sig, handler)

        def stop_on(self, sig: int, frame: FrameType | None) -> None:
            first = not self.should_exit
            self.handle_exit(sig, frame)
            if first and on_stop is not None:
                on_stop()

    prefer_short_gil_turns(settings)
    config = uvicorn.Config(
        asgi_app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        proxy_headers=True,
        timeout_graceful_shutdown=HTTP_DRAIN_S,
    )
    StoppingServer(config).run()


def serve_socket_mode(
    bolt_app: App,
    *,
    app_token: str,
    http_app: Starlette,
    settings: Settings,
    on_stop: Callable[[], None] | None = None,
) -> None:
    """Socket Mode for Slack, plus /healthz and the HTTP API on `settings.port`, until SIGTERM or
    SIGINT (see `serve_http`); then the socket is closed cleanly, so Slack sends the next envelopes
    to the other replicas' sockets."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    # A socket that dropped without a close is given up and reopened after five failed pings
    # (slack_sdk's rule), so the ping interval bounds how long a drop lasts.
    handler = SocketModeHandler(
        bolt_app, app_token, ping_interval=settings.socket_mode_ping_interval_s
    )
    handler.connect()  # type: ignore[no-untyped-call]
    log.info("connected to Slack in Socket Mode")
    try:
        serve_http(http_app, settings=settings, on_stop=on_stop)
    finally:
        _send_close_frame(handler)
        handler.close()  # type: ignore[no-untyped-call]
        log.info("Socket Mode connection closed")


def _send_close_frame(handler: Any) -> None:
    """A WebSocket close frame (1000, normal closure) on the Socket Mode connection: slack_sdk's
    built-in client only drops the TCP connection, which Slack cannot tell from a network cut.
    Best effort: the connection is closed right after either way."""
    try:
        from slack_sdk.socket_mode.builtin.frame_header import FrameHeader
        from slack_sdk.socket_mode.builtin.internals import _build_data_frame_for_sending

        session = handler.client.current_session
        if session is None or session.sock is None:
            return
        frame = _build_data_frame_for_sending(
            (1000).to_bytes(2, "big") + b"replica stopping", FrameHeader.OPCODE_CLOSE
        )
        with session.sock_send_lock:
            session.sock.send(frame)
    except Exception:
        log.debug("could not send a close frame on the Socket Mode connection", exc_info=True)
