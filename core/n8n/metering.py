"""n8n API calls as metrics: `MeteredTransport` wraps the n8n client's HTTP transport and counts,
times and classifies every request under its endpoint (`clixen_n8n_*`).

The endpoint label is the method and the route template (`POST /api/v1/workflows/{id}/activate`),
never the raw path with ids, so the series stay as few as n8n's endpoints.
"""

from __future__ import annotations

import re
import time

import httpx

from core.kernel.metrics import N8N_CALLS, N8N_ERRORS, N8N_SECONDS

# Path segments that are words of n8n's API, not ids (everything else after a collection is one).
_API_WORDS = frozenset(
    {
        "workflows",
        "executions",
        "credentials",
        "schema",
        "activate",
        "deactivate",
        "transfer",
        "tags",
        "test",
        "retry",
        "users",
        "projects",
        "variables",
        "audit",
    }
)
_VERSION = re.compile(r"^v\d+$")


def endpoint_of(method: str, path: str) -> str:
    """`METHOD /route/{id}/template` of a request path (query string ignored)."""
    segments = path.split("?", 1)[0].strip("/").split("/")
    template = []
    for i, segment in enumerate(segments):
        if i == 0 or segment in _API_WORDS or _VERSION.match(segment) or segment == "":
            template.append(segment)
        else:
            template.append("{id}")
    return f"{method.upper()} /{'/'.join(template)}"


class MeteredTransport(httpx.BaseTransport):
    """An httpx transport that meters each request it passes to `inner`."""

    def __init__(self, inner: httpx.BaseTransport | None = None) -> None:
        self._inner = inner or httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        endpoint = endpoint_of(request.method, request.url.path)
        N8N_CALLS.labels(endpoint).inc()
        started = time.perf_counter()
        try:
            response = self._inner.handle_request(request)
        except httpx.TimeoutException:
            N8N_ERRORS.labels(endpoint, "timeout").inc()
            raise
        except httpx.TransportError:
            N8N_ERRORS.labels(endpoint, "connection").inc()
            raise
        finally:
            N8N_SECONDS.labels(endpoint).observe(time.perf_counter() - started)
        if response.status_code >= 500:
            N8N_ERRORS.labels(endpoint, "server_error").inc()
        elif response.status_code >= 400:
            N8N_ERRORS.labels(endpoint, "client_error").inc()
        return response

    def close(self) -> None:
        self._inner.close()
