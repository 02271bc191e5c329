"""The endpoints of whoever runs Clixen: `GET /readyz` (readiness, with what is not ready) and
`GET /metrics` (Prometheus text format). `/healthz` (liveness) stays in `bot.server`.

`/metrics` is off unless configured: with CLIXEN_METRICS_TOKEN it answers only requests bearing
that token (Prometheus' `authorization: {credentials: …}`); with CLIXEN_METRICS=public it answers
anyone (for a port only a private network reaches); otherwise 404 saying how to turn it on. The
replica's port also serves Slack and the API to the internet, and the metrics tell activity,
model names and error rates: not something to publish by default.
"""

from __future__ import annotations

import hmac

from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, REGISTRY, generate_latest
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from core.kernel.settings import Settings
from core.observability.readiness import ReadinessProbe

METRICS_OFF = (
    "GET /metrics is off on this server: set CLIXEN_METRICS_TOKEN (Prometheus then sends it as "
    "a bearer token) or CLIXEN_METRICS=public (only where the port is not reachable from the "
    "internet), then restart `clixen serve`."
)


def operation_routes(*, settings: Settings, readiness: ReadinessProbe | None) -> list[BaseRoute]:
    """`GET /readyz` on `readiness` (None: nothing to check, always ready) and `GET /metrics`."""

    async def readyz(request: Request) -> Response:
        if readiness is None:
            return JSONResponse({"status": "ready", "not_ready": [], "checks": {}})
        status = await run_in_threadpool(readiness.status)
        return JSONResponse(status.body(), status_code=200 if status.ready else 503)

    token = (settings.metrics_token or "").strip()

    async def metrics(request: Request) -> Response:
        if token:
            scheme, _, given = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(
                given.strip().encode(), token.encode()
            ):
                return JSONResponse(
                    {
                        "error": {
                            "code": "unauthorized",
                            "message": "A valid bearer token is required (CLIXEN_METRICS_TOKEN).",
                        }
                    },
                    status_code=401,
                    headers={"WWW-Authenticate": "Bearer"},
                )
        elif settings.metrics != "public":
            return JSONResponse(
                {"error": {"code": "metrics_off", "message": METRICS_OFF}}, status_code=404
            )
        if readiness is not None:  # clixen_ready is current at every scrape (checks cached)
            await run_in_threadpool(readiness.status)
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_PLAIN_0_0_4)

    return [
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]
