"""Run a workflow now on its test copy and say what each node did.

Contract: the copy is built only from what the deploy gate lets through (`core.deploy.gate`,
under the project's policy of today), then created, activated, called once and read back; it
is deleted in a `finally`. Each copy is recorded in the database before n8n creates it (with
its n8n id the moment n8n answers), so `core.run_now.sweep` (a scheduler job) deletes exactly
the copies a killed process left behind. A test copy is never a version. A test run really runs
the workflow's outside effects (see `core.run_now.copies.outside_effects`): callers confirm
with the user first.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from core.catalog import NodeCatalog
from core.deploy import gate
from core.deploy.errors import ValidationFailed
from core.deploy.workflows import head_version
from core.kernel.errors import InvalidInput, NotFound, PermissionDenied
from core.kernel.logging import redact
from core.kernel.settings import Settings
from core.n8n import N8nClient, N8nError, execution_failure
from core.run_now.copies import RunNowCopy, build_test_copy
from core.run_now.slack_sample import slack_sample
from core.run_now.sweep import forget_copy, record_copy, record_created
from core.validation import validate

logger = logging.getLogger(__name__)

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
    *,
    session_factory: sessionmaker[Session],
    n8n: N8nClient,
    project_id: int,
    workflow: Mapping[str, Any],
    sample: Mapping[str, Any] | None = None,
    timeout_s: float = 60.0,
    settings: Settings,
    catalog: NodeCatalog | None = None,
) -> RunNowReport:
    """Run `workflow` once now on a test copy in project `project_id` and report per node.

    The copy is built only from what passes the deploy gate (`core.deploy.gate`: size guards,
    settings cut, validation under the project's policy of today, credentials bound to the
    project's own), and the copy itself is checked against that policy; a workflow the gate
    refuses is not run (status `refused`, with the reason). Callers check the user's role first
    (an editor's action). Never raises for what n8n does with the copy (that is the report);
    the copy is deleted whatever happens."""
    try:
        test_copy = gated_copy(
            session_factory=session_factory,
            n8n=n8n,
            project_id=project_id,
            workflow=workflow,
            sample=sample,
            settings=settings,
            catalog=catalog,
        )
    except (ValidationFailed, InvalidInput, PermissionDenied) as e:
        return RunNowReport(status="refused", message=str(e))
    record = record_copy(session_factory, project_id=project_id, path=test_copy.path)
    copy_id: str | None = None
    try:
        try:
            copy_id = str(n8n.create_workflow(test_copy.workflow)["id"])
            record_created(session_factory, record, copy_id)
            n8n.activate(copy_id)
        except N8nError as e:
            return RunNowReport(status="refused", message=f"n8n refused the test copy: {e}")
        return _call_and_report(n8n, test_copy, workflow, copy_id=copy_id, timeout_s=timeout_s)
    finally:
        _delete_copy(n8n, session_factory, record, copy_id)


def _call_and_report(
    n8n: N8nClient,
    test_copy: RunNowCopy,
    workflow: Mapping[str, Any],
    *,
    copy_id: str,
    timeout_s: float,
) -> RunNowReport:
    """Call the active test copy, wait for its execution and report what each node did."""
    try:
        response = n8n.call_webhook(test_copy.path, method=test_copy.method, json=test_copy.payload)
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


def _delete_copy(
    n8n: N8nClient, session_factory: sessionmaker[Session], record: int, copy_id: str | None
) -> None:
    """Delete the test copy from n8n and forget its record; when n8n does not answer, the
    record stays for the sweep to remove it later."""
    try:
        if copy_id is not None:
            n8n.delete_workflow(copy_id)
        forget_copy(session_factory, record)
    except N8nError as e:  # recorded: the sweep removes it later
        logger.warning("test copy %s not deleted: %s", copy_id, e)


def gated_copy(
    *,
    session_factory: sessionmaker[Session],
    n8n: N8nClient,
    project_id: int,
    workflow: Mapping[str, Any],
    sample: Mapping[str, Any] | None = None,
    settings: Settings,
    catalog: NodeCatalog | None = None,
) -> RunNowCopy:
    """The test copy of `workflow` as the deploy gate lets it through for project `project_id`.
    Raises ValidationFailed (the workflow or its copy breaks today's policy), InvalidInput or
    PermissionDenied (a credential the project does not have, or a reference without an id)."""
    with session_factory.begin() as session:
        _, payload = gate.parse(workflow)
        payload, policy = gate.check(
            session=session, project_id=project_id, payload=payload, say=_quiet, not_done="run"
        )
    payload = gate.bind(
        session_factory,
        n8n=n8n,
        project_id=project_id,
        payload=payload,
        settings=settings,
        say=_quiet,
    )
    test_copy = build_test_copy(payload, sample=sample, catalog=catalog)
    report = validate(test_copy.workflow, catalog=catalog, policy=policy)
    if not report.valid:
        raise ValidationFailed(report, not_done="run")
    gate.require_credential_ids(test_copy.workflow)
    return test_copy


def _quiet(_: str) -> None:
    pass


def run_workflow_now(
    *,
    session_factory: sessionmaker[Session],
    n8n: N8nClient,
    workflow_id: int,
    sample: Mapping[str, Any] | None = None,
    timeout_s: float = 60.0,
    settings: Settings,
) -> RunNowReport:
    """`run_now` on the head version of the product's workflow `workflow_id` (NotFound when it
    has none), in its project. Callers check the user's role first (an editor's action)."""
    with session_factory() as session:
        version = head_version(session=session, workflow_id=workflow_id)
        if version is None:
            raise NotFound(f"Workflow {workflow_id} has no version to test.")
        payload = dict(version.json_payload)
        project_id = version.workflow.project_id
        if sample is None:  # a Slack trigger's: the last real event, else one of its shape
            sample = slack_sample(session, workflow_id=workflow_id, workflow=payload)
    return run_now(
        session_factory=session_factory,
        n8n=n8n,
        project_id=project_id,
        workflow=payload,
        sample=sample,
        timeout_s=timeout_s,
        settings=settings,
    )
