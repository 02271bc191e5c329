"""The operator endpoints on the server app: /metrics is off by default, bearer-protected with
CLIXEN_METRICS_TOKEN, open with CLIXEN_METRICS=public; HTTP API requests are counted under their
route template (never the raw path) and final status; /healthz stays liveness only."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from api import create_api_app
from api.operations import operation_routes
from bot.server import create_server_app
from core.kernel.settings import Settings
from core.n8n import N8nClient
from core.observability.readiness import ReadinessProbe, n8n_check
from tests.conftest import N8nStack

TOKEN = "metrics-token-0123456789abcdef"


def server(
    session_factory: sessionmaker[Session],
    n8n: N8nClient,
    readiness: ReadinessProbe | None = None,
    **env: Any,
) -> Iterator[TestClient]:
    """The server app of `clixen serve` (without Slack) on `env`'s settings."""
    settings = Settings(_env_file=None, **env)  # type: ignore[call-arg]
    api = create_api_app(settings=settings, session_factory=session_factory, n8n=n8n)
    app = create_server_app(
        None,
        api_app=api,
        slack_route=False,
        extra_routes=operation_routes(settings=settings, readiness=readiness),
    )
    with TestClient(app) as http:
        yield http


def test_metrics_are_off_by_default(
    session_factory: sessionmaker[Session], n8n_client: N8nClient
) -> None:
    for http in server(session_factory, n8n_client):
        response = http.get("/metrics")
        assert response.status_code == 404
        assert "CLIXEN_METRICS_TOKEN" in response.json()["error"]["message"]


def test_metrics_with_a_token_answer_only_its_bearer(
    session_factory: sessionmaker[Session], n8n_client: N8nClient
) -> None:
    for http in server(session_factory, n8n_client, CLIXEN_METRICS_TOKEN=TOKEN):
        assert http.get("/metrics").status_code == 401
        wrong = http.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == "Bearer"
        right = http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert right.status_code == 200
        names = {f.name for f in text_string_to_metric_families(right.text)}
        assert {"clixen_runs_started", "clixen_llm_calls", "clixen_slack_ack_seconds"} <= names


def test_api_requests_are_counted_by_route_template_and_status(
    session_factory: sessionmaker[Session], n8n_client: N8nClient
) -> None:
    route = "/api/v1/workflows/{workflow_id}/versions"

    def count(status: str, path: str = route) -> float:
        labels = {"route": path, "method": "GET", "status": status}
        return REGISTRY.get_sample_value("clixen_http_requests_total", labels) or 0.0

    before_401, before_404 = count("401"), count("404", "unmatched")
    for http in server(session_factory, n8n_client):
        assert http.get("/api/v1/workflows/123/versions").status_code == 401
        assert http.get("/api/v1/workflows/456/versions").status_code == 401
        assert http.get("/no/such/thing").status_code == 404
    assert count("401") - before_401 == 2
    assert count("404", "unmatched") - before_404 == 1
    assert (
        REGISTRY.get_sample_value(
            "clixen_http_requests_total",
            {"route": "/api/v1/workflows/123/versions", "method": "GET", "status": "401"},
        )
        is None
    )


def test_readyz_names_what_is_not_ready_while_healthz_stays_ok(
    session_factory: sessionmaker[Session], n8n: N8nStack, n8n_client: N8nClient
) -> None:
    probe = ReadinessProbe({"n8n": n8n_check(n8n.url, "not-the-key")}, ttl_s=0)
    for http in server(session_factory, n8n_client, readiness=probe):
        assert http.get("/healthz").json() == {"status": "ok"}
        response = http.get("/readyz")
        assert response.status_code == 503
        assert response.json()["not_ready"] == ["n8n"]
        assert REGISTRY.get_sample_value("clixen_ready") == 0
        assert REGISTRY.get_sample_value("clixen_readiness_check_ok", {"check": "n8n"}) == 0
