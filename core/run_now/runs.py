"""Run a workflow now on its test copy and say what each node did.

Contract: the copy is created, activated, called once and read back; it is deleted in a
`finally`, and `sweep_test_copies` (a scheduler job) deletes any a killed process left behind.
Nothing is stored: a test copy is never a version. A test run really runs the workflow's
outside effects (see `core.run_now.copies.outside_effects`): callers confirm with the user first.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from core.catalog import NodeCatalog
from core.kernel.errors import NotFound
from core.kernel.logging import redact
from core.n8n import N8nClient, N8nError, execution_failure
from core.run_now.copies import TEST_PREFIX, RunNowCopy, build_test_copy

logger = logging.getLogger(__name__)

SWEEP_AGE_MINUTES = 15
MAX_VALUE_CHARS = 80
MAX_ITEM_CHARS = 300
_SECRET_KEY = re.compile(r"(?i)(pass(word)?|secret|token|api[_-]?key|authorization|cookie)")


@dataclass(frozen=True)
class NodeResult:
    """What one node did in the test run: `status` is ran, failed or not run."""

    name: str
    status: str
    items: int = 0
    first_item: str = ""
    message: str = ""
    sample: str = ""  # for a replaced trigger: where its item came from


@dataclass(frozen=True)
class RunNowReport:
    """The outcome of one test run: `status` success, error, refused (n8n would not take the
    copy) or unknown (no execution seen); `nodes` in the order they ran, then those that did not."""

    status: str
    nodes: list[NodeResult] = field(default_factory=list)
    node: str | None = None
    message: str = ""
    execution_id: str | None = None
    execution: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return self.status == "success"


def trimmed(value: Any, depth: int = 0) -> Any:
    """`value` with secret-looking keys masked, long strings cut and deep nesting elided."""
    if isinstance(value, Mapping):
        if depth >= 2:
            return "{…}"
        out: dict[str, Any] = {}
        for i, (k, v) in enumerate(value.items()):
            if i == 8:
                out["…"] = f"{len(value) - 8} more"
                break
            out[str(k)] = "***" if _SECRET_KEY.search(str(k)) else trimmed(v, depth + 1)
        return out
    if isinstance(value, list):
        if depth >= 2:
            return "[…]"
        head = [trimmed(v, depth + 1) for v in value[:3]]
        return head + ([f"… {len(value) - 3} more"] if len(value) > 3 else [])
    if isinstance(value, str):
        text = redact(value)
        return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + "…"
    return value


def first_item_text(item: Any) -> str:
    """One line of JSON for an item, trimmed and masked."""
    text = json.dumps(trimmed(item), ensure_ascii=False, default=str)
    return text if len(text) <= MAX_ITEM_CHARS else text[: MAX_ITEM_CHARS - 1] + "…"


def node_results(
    execution: Mapping[str, Any], test_copy: RunNowCopy, workflow: Mapping[str, Any]
) -> list[NodeResult]:
    """Per node of `workflow`: items out, first item, error; helper nodes of the copy hidden."""
    result_data = ((execution.get("data") or {}).get("resultData")) or {}
    run_data: Mapping[str, Any] = result_data.get("runData") or {}
    out: list[NodeResult] = []
    for name, runs in run_data.items():
        if name in test_copy.helpers or not runs:
            continue
        last = runs[-1] if isinstance(runs, list) else {}
        items: list[Any] = []
        for run in runs if isinstance(runs, list) else []:
            for branch in ((run.get("data") or {}).get("main")) or []:
                items.extend(branch or [])
        error = last.get("error")
        message = ""
        if isinstance(error, Mapping):
            message = str(error.get("message") or "")
            if error.get("description") and str(error["description"]) not in message:
                message = f"{message} ({error['description']})"
        first = items[0].get("json") if items and isinstance(items[0], Mapping) else None
        out.append(
            NodeResult(
                name=name,
                status="failed" if error else "ran",
                items=len(items),
                first_item=first_item_text(first) if first is not None else "",
                message=redact(message),
                sample=test_copy.samples.get(name, ""),
            )
        )
    seen = {r.name for r in out}
    for node in workflow.get("nodes") or []:
        name = str(node.get("name"))
        if name not in seen and node.get("type") != "n8n-nodes-base.stickyNote":
            out.append(NodeResult(name=name, status="not run"))
    return out


def run_now(
    n8n: N8nClient,
    workflow: Mapping[str, Any],
    *,
    sample: Mapping[str, Any] | None = None,
    timeout_s: float = 60.0,
    catalog: NodeCatalog | None = None,
) -> RunNowReport:
    """Run `workflow` once now on a test copy and report per node. Never raises for what n8n
    does with the copy (that is the report); the copy is deleted whatever happens."""
    test_copy = build_test_copy(workflow, sample=sample, catalog=catalog)
    copy_id: str | None = None
    try:
        try:
            copy_id = str(n8n.create_workflow(test_copy.workflow)["id"])
            n8n.activate(copy_id)
        except N8nError as e:
            return RunNowReport(status="refused", message=f"n8n refused the test copy: {e}")
        try:
            response = n8n.call_webhook(
                test_copy.path, method=test_copy.method, json=test_copy.payload
            )
        except N8nError as e:
            return RunNowReport(status="unknown", message=f"could not call the test copy: {e}")
        if response.status_code >= 400 and response.status_code != 500:
            return RunNowReport(
                status="unknown",
                message=f"the test call answered HTTP {response.status_code}",
            )
        execution = n8n.wait_for_execution(copy_id, timeout_s=timeout_s)
        if execution is None:
            return RunNowReport(
                status="unknown", message=f"no finished execution within {timeout_s:.0f}s"
            )
        failure = execution_failure(execution)
        return RunNowReport(
            status="error" if failure else str(execution.get("status") or "success"),
            nodes=node_results(execution, test_copy, workflow),
            node=failure.node if failure else None,
            message=redact(failure.message) if failure else "",
            execution_id=str(execution.get("id")),
            execution=execution,
        )
    finally:
        if copy_id is not None:
            try:
                n8n.delete_workflow(copy_id)
            except N8nError as e:  # the sweep removes it later
                logger.warning("test copy %s not deleted: %s", copy_id, e)


def run_workflow_now(
    *,
    session_factory: sessionmaker[Session],
    n8n: N8nClient,
    workflow_id: int,
    sample: Mapping[str, Any] | None = None,
    timeout_s: float = 60.0,
) -> RunNowReport:
    """`run_now` on the head version of the product's workflow `workflow_id` (NotFound when it
    has none). Callers check the user's role first (an editor's action)."""
    from core.deploy.workflows import head_version

    with session_factory() as session:
        version = head_version(session=session, workflow_id=workflow_id)
        if version is None:
            raise NotFound(f"Workflow {workflow_id} has no version to test.")
        payload = dict(version.json_payload)
    return run_now(n8n, payload, sample=sample, timeout_s=timeout_s)


def sweep_test_copies(n8n: N8nClient, *, older_than_minutes: float | None = None) -> int:
    """Delete test copies older than `older_than_minutes` (default SWEEP_AGE_MINUTES: a live
    test run never lasts that long, so only copies a killed process left); returns how many."""
    age = SWEEP_AGE_MINUTES if older_than_minutes is None else older_than_minutes
    cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=age)
    stale: list[str] = []
    cursor: str | None = None
    while True:
        page = n8n.list_workflows(limit=100, cursor=cursor)
        for wf in page.get("data") or []:
            if not str(wf.get("name") or "").startswith(TEST_PREFIX):
                continue
            created = _parse_time(wf.get("createdAt"))
            if created is None or created <= cutoff:
                stale.append(str(wf["id"]))
        cursor = page.get("nextCursor")
        if not cursor:
            break
    deleted = 0
    for copy_id in stale:
        try:
            n8n.delete_workflow(copy_id)
            deleted += 1
        except N8nError as e:
            logger.warning("sweep: test copy %s not deleted: %s", copy_id, e)
    return deleted


def _parse_time(value: Any) -> dt.datetime | None:
    try:
        parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
