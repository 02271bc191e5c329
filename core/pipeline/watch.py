"""Watching a deployed candidate run in n8n: the test call that starts a webhook workflow, the
wait for the first execution that really ran the candidate (n8n may still serve the previous
version while it republishes), and `run_test_call`, the same test call made on request.

Contract: these functions only read from n8n and call webhooks; they never change a run or a
workflow. An execution counts only when it ran every parameter of the candidate we deployed.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core.deploy.workflows import head_version
from core.kernel.errors import NotFound
from core.kernel.models import Workflow
from core.n8n import execution_failure
from core.pipeline.types import MAX_TEST_CALLS, PipelineServices
from core.run_now import run_now


@dataclass(frozen=True)
class SampleCallResult:
    """The execution a test call produced: status `success`, `error` or `unknown` (none seen)."""

    status: str
    execution_id: str | None = None
    node: str | None = None
    message: str = ""


def run_test_call(
    services: PipelineServices, *, workflow_id: int, sample: Mapping[str, Any] | None
) -> SampleCallResult:
    """Call a deployed webhook workflow once with `sample` and report the execution it caused;
    any other trigger runs once on a test copy (`core.run_now.run_now`, whose execution goes
    with the copy: `execution_id` is then None).

    Raises NotFound when it is not deployed. Callers check the user's role first (an editor's
    action).
    """
    with services.session_factory() as session:
        wf = session.get(Workflow, workflow_id)
        if wf is None or wf.n8n_workflow_id is None:
            raise NotFound(f"Workflow {workflow_id} is not deployed.")
        version = head_version(session=session, workflow_id=wf.id)
        n8n_id, project_id = wf.n8n_workflow_id, wf.project_id
    candidate = dict(version.json_payload) if version else {}
    hook = webhook_path(candidate)
    if hook is None:
        report = run_now(
            session_factory=services.session_factory,
            n8n=services.n8n,
            project_id=project_id,
            workflow=candidate,
            sample=sample,
            settings=services.settings,
        )
        status = report.status if report.status in ("success", "unknown") else "error"
        return SampleCallResult(status=status, node=report.node, message=report.message)
    page = services.n8n.list_executions(workflow_id=n8n_id, limit=1)
    after = str(page.items[0]["id"]) if page.items else None
    execution = await_execution(
        services, n8n_id, candidate=candidate, after=after, sample=dict(sample or {}), hook=hook
    )
    if execution is None:
        return SampleCallResult(status="unknown", message="no execution was seen")
    failure = execution_failure(execution)
    return SampleCallResult(
        status="error" if failure else str(execution.get("status")),
        execution_id=str(execution.get("id")),
        node=failure.node if failure else None,
        message=failure.message if failure else "",
    )


def webhook_path(wf: Mapping[str, Any]) -> tuple[str, str] | None:
    """(path, HTTP method) of the workflow's webhook trigger; None when it has none."""
    for node in wf.get("nodes") or []:
        if isinstance(node, dict) and node.get("type") == "n8n-nodes-base.webhook":
            params = node.get("parameters") or {}
            path = params.get("path") or node.get("webhookId")
            if path:
                return str(path), str(params.get("httpMethod") or "GET")
    return None


def newest_execution_id(services: PipelineServices, n8n_id: str | None) -> str | None:
    """The id of the workflow's newest execution in n8n (None: none yet, or not deployed)."""
    if n8n_id is None:
        return None
    page = services.n8n.list_executions(workflow_id=n8n_id, limit=1)
    return str(page.items[0]["id"]) if page.items else None


def await_execution(
    services: PipelineServices,
    n8n_id: str,
    *,
    candidate: Mapping[str, Any],
    after: str | None,
    sample: Mapping[str, Any] | None,
    hook: tuple[str, str] | None,
) -> dict[str, Any] | None:
    """The first finished execution of `candidate` newer than `after` (after a test call when
    `sample` is given), or None when none finishes within the watch window."""
    n8n = services.n8n
    window = services.watch_s if sample is None else max(services.watch_s, 15.0)
    deadline = time.monotonic() + window
    calls = 0
    while True:
        if sample is not None and hook is not None and calls < MAX_TEST_CALLS:
            path, method = hook
            n8n.call_webhook(path, method=method, json=dict(sample))
            calls += 1
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        execution = n8n.wait_for_execution(
            n8n_id, after_id=after, timeout_s=remaining, poll_s=services.poll_s
        )
        if execution is None:
            return None
        if not ran_candidate(execution, candidate):
            # n8n served the call with the previous version while republishing (it even labels
            # it with the new version id): look past it, and call again if we are testing.
            after = str(execution.get("id"))
            time.sleep(services.poll_s)
            continue
        return execution


def ran_candidate(execution: Mapping[str, Any], candidate: Mapping[str, Any]) -> bool:
    """Whether the execution ran `candidate`: every parameter we sent is what n8n executed
    (n8n adds defaults, so extra keys on its side are fine)."""
    ran = execution.get("workflowData") or {}
    nodes = {n.get("name"): n for n in ran.get("nodes") or [] if isinstance(n, dict)}
    if not nodes:
        return True  # nothing to compare with: trust the listing
    for node in candidate.get("nodes") or []:
        got = nodes.get(node.get("name"))
        if got is None:
            return False
        params = got.get("parameters") or {}
        for key, value in (node.get("parameters") or {}).items():
            if params.get(key) != value:
                return False
    return True
