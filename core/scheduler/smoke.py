"""The smoke test: deploy the canonical RSS → Slack workflow, run it, read its execution back.

Used by the scheduled job and by `clixen smoke` (which gates CI and deployments on its exit code).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import logging
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from sqlalchemy.orm import Session

from core.kernel.models import SmokeResult
from core.n8n import N8nClient, N8nError, execution_failure

logger = logging.getLogger(__name__)

CANONICAL_DIR = Path(__file__).resolve().parent / "canonical"
CANONICAL_VERSION = "1"
TRIGGER_NODE = "Run smoke test"
RSS_NODE = "Read RSS feed"
SLACK_NODE = "Post to Slack"


def load_canonical(version: str = CANONICAL_VERSION) -> dict[str, Any]:
    """The canonical workflow fixture of `version`, with its URLs still empty."""
    data: dict[str, Any] = json.loads(
        (CANONICAL_DIR / f"rss_to_slack.v{version}.json").read_text(encoding="utf-8")
    )
    return data


def build_canonical(
    *, feed_url: str, slack_webhook_url: str, webhook_path: str, version: str = CANONICAL_VERSION
) -> dict[str, Any]:
    """The canonical workflow ready to create in n8n: its trigger listens on `webhook_path`, its
    RSS node reads `feed_url`, its Slack node posts `{"text": …}` to `slack_webhook_url`."""
    wf = copy.deepcopy(load_canonical(version))
    nodes = {node["name"]: node for node in wf["nodes"]}
    nodes[TRIGGER_NODE]["parameters"]["path"] = webhook_path
    nodes[TRIGGER_NODE]["webhookId"] = str(uuid.uuid4())
    nodes[RSS_NODE]["parameters"]["url"] = feed_url
    nodes[SLACK_NODE]["parameters"]["url"] = slack_webhook_url
    wf["name"] = f"{wf['name']} {webhook_path.rsplit('-', 1)[-1]}"
    return wf


@dataclass(frozen=True)
class SmokeOutcome:
    """What one smoke test found. `failing_node` is None when the failure was not in a node
    (n8n unreachable, workflow refused, no execution)."""

    ok: bool
    message: str
    failing_node: str | None = None
    execution_id: str | None = None
    n8n_workflow_id: str | None = None
    started_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    finished_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    fixture_version: str = CANONICAL_VERSION

    @property
    def duration_s(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()

    def summary(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "failing_node": self.failing_node,
            "message": self.message,
            "execution_id": self.execution_id,
            "duration_s": round(self.duration_s, 3),
        }


def format_smoke_message(outcome: SmokeOutcome) -> str:
    """One line for the ops channel (and the CLI)."""
    if outcome.ok:
        return (
            f"Smoke test passed: canonical RSS → Slack v{outcome.fixture_version} ran in n8n "
            f"(execution {outcome.execution_id}, {outcome.duration_s:.1f}s)."
        )
    where = f" at node “{outcome.failing_node}”" if outcome.failing_node else ""
    execution = f" (execution {outcome.execution_id})" if outcome.execution_id else ""
    return (
        f"Smoke test FAILED{where}{execution}: {outcome.message} "
        f"— canonical RSS → Slack v{outcome.fixture_version}."
    )


def run_smoke_test(
    *,
    client: N8nClient,
    feed_url: str,
    slack_webhook_url: str,
    timeout_s: float = 60.0,
) -> SmokeOutcome:
    """Deploy the canonical workflow to n8n, fire it through its webhook, read the execution
    through `GET /executions`, and always clean up (deactivate + delete). Never raises for an
    n8n failure: the failure is the outcome."""
    started = dt.datetime.now(dt.UTC)
    path = f"clixen-smoke-{uuid.uuid4().hex[:12]}"
    workflow = build_canonical(
        feed_url=feed_url, slack_webhook_url=slack_webhook_url, webhook_path=path
    )
    workflow_id: str | None = None

    def outcome(ok: bool, message: str, **kw: Any) -> SmokeOutcome:
        return SmokeOutcome(
            ok=ok,
            message=message,
            n8n_workflow_id=workflow_id,
            started_at=started,
            finished_at=dt.datetime.now(dt.UTC),
            **kw,
        )

    try:
        try:
            workflow_id = str(client.create_workflow(workflow)["id"])
            client.activate(workflow_id)
        except N8nError as e:
            return outcome(False, f"n8n refused the canonical workflow: {e}")
        try:
            response = client.call_webhook(path, json={"source": "clixen smoke"})
        except N8nError as e:
            return outcome(False, f"could not trigger the workflow: {e}")
        if response.status_code >= 400:
            return outcome(
                False, f"trigger answered HTTP {response.status_code}: {response.text[:300]}"
            )
        try:
            execution = client.wait_for_execution(workflow_id, timeout_s=timeout_s)
        except N8nError as e:
            return outcome(False, f"could not read the execution: {e}")
        if execution is None:
            return outcome(False, f"no finished execution within {timeout_s:.0f}s")
        return _judge(execution, outcome)
    finally:
        if workflow_id is not None:
            _cleanup(client, workflow_id)


def _judge(execution: dict[str, Any], outcome: Any) -> SmokeOutcome:
    execution_id = str(execution.get("id"))
    failure = execution_failure(execution)
    if failure is not None:
        result: SmokeOutcome = outcome(
            False, failure.message, failing_node=failure.node, execution_id=execution_id
        )
        return result
    run_data = ((execution.get("data") or {}).get("resultData") or {}).get("runData") or {}
    if SLACK_NODE not in run_data:
        # n8n stops a branch without items: an empty feed means the Slack node never ran.
        last = ((execution.get("data") or {}).get("resultData") or {}).get("lastNodeExecuted")
        result = outcome(
            False,
            "the Slack message was never sent (the feed gave no items?)",
            failing_node=str(last) if last else RSS_NODE,
            execution_id=execution_id,
        )
        return result
    result = outcome(True, "ok", execution_id=execution_id)
    return result


def _cleanup(client: N8nClient, workflow_id: str) -> None:
    try:
        # delete_workflow deactivates first and retries the ~15 s "still unpublishing" window.
        client.delete_workflow(workflow_id, settle_s=20.0)
    except N8nError as e:
        logger.warning("smoke test: could not delete workflow %s: %s", workflow_id, e)


def record_smoke_result(*, session: Session, outcome: SmokeOutcome) -> SmokeResult:
    """Store `outcome` as a `SmokeResult` row (flushed, so it has its id)."""
    row = SmokeResult(
        started_at=outcome.started_at,
        finished_at=outcome.finished_at,
        ok=outcome.ok,
        n8n_workflow_id=outcome.n8n_workflow_id,
        execution_id=outcome.execution_id,
        failing_node=outcome.failing_node,
        message=outcome.message[:4000],
        fixture_version=outcome.fixture_version,
    )
    session.add(row)
    session.flush()
    return row


# --- local endpoints: the feed and the webhook sink, for CI and for hosts without real ones ------


def rss_xml(titles: list[str], *, link: str = "https://example.org/") -> str:
    """A small RSS 2.0 document whose items carry `titles`."""
    items = "".join(
        f"<item><title>{escape(t)}</title><link>{escape(link)}{i}</link>"
        f"<guid>{escape(link)}{i}</guid><pubDate>Mon, 02 Nov 2026 09:00:00 GMT</pubDate></item>"
        for i, t in enumerate(titles)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>Clixen smoke feed</title><link>{escape(link)}</link>"
        f"<description>canonical smoke feed</description>{items}</channel></rss>"
    )


DEFAULT_TITLES = ["Clixen smoke item one", "Clixen smoke item two"]


@dataclass
class LocalSmokeEndpoints:
    """A feed and a webhook sink served on 127.0.0.1; `received` holds the JSON bodies POSTed."""

    feed_url: str
    webhook_url: str
    titles: list[str]
    received: list[Any] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def bodies(self) -> list[Any]:
        with self._lock:
            return list(self.received)


@contextmanager
def local_smoke_endpoints(titles: list[str] | None = None) -> Iterator[LocalSmokeEndpoints]:
    """Serve an RSS feed with `titles` and a Slack-like incoming-webhook sink until exit."""
    endpoints = LocalSmokeEndpoints(feed_url="", webhook_url="", titles=titles or DEFAULT_TITLES)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_GET(self) -> None:
            body = rss_xml(endpoints.titles).encode()
            self.send_response(200 if self.path.startswith("/feed") else 404)
            self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                parsed: Any = json.loads(raw or b"null")
            except ValueError:
                parsed = raw.decode("utf-8", "replace")
            with endpoints._lock:
                endpoints.received.append(parsed)
            # Slack's incoming webhooks answer a plain "ok".
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port = server.server_address[1]
    endpoints.feed_url = f"http://127.0.0.1:{port}/feed.xml"
    endpoints.webhook_url = f"http://127.0.0.1:{port}/slack-webhook"
    thread = threading.Thread(target=server.serve_forever, name="smoke-endpoints", daemon=True)
    thread.start()
    try:
        yield endpoints
    finally:
        server.shutdown()
        server.server_close()
