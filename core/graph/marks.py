"""Status drawn on a workflow picture: what an execution did to each node (ran, failed, not
reached), or what a new version did to it (added, removed, changed)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from core.graph.workflow_graph import STICKY_NOTE
from core.kernel.errors import InvalidInput

MAX_MESSAGE_CHARS = 140


class NodeMark(StrEnum):
    ran = "ran"
    failed = "failed"
    not_reached = "not reached"
    added = "added"
    removed = "removed"
    changed = "changed"


@dataclass(frozen=True)
class Marks:
    """Per-node marks, n8n's message for a failed node, and a caption for the picture."""

    nodes: dict[str, NodeMark] = field(default_factory=dict)
    messages: dict[str, str] = field(default_factory=dict)
    caption: str = ""

    def of(self, name: str) -> NodeMark | None:
        return self.nodes.get(name)


def short_message(message: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """n8n's error message, first line only and at most `limit` characters."""
    first = " ".join(message.strip().splitlines()[:1]).strip() or "failed"
    return first if len(first) <= limit else first[: limit - 1].rstrip() + "…"


def _node_names(workflow: Mapping[str, Any]) -> list[str]:
    return [
        str(n["name"])
        for n in workflow.get("nodes") or []
        if isinstance(n, Mapping) and n.get("name") and n.get("type") != STICKY_NOTE
    ]


def _sticky_notes(workflow: Mapping[str, Any]) -> set[str]:
    return {
        str(n.get("name"))
        for n in workflow.get("nodes") or []
        if isinstance(n, Mapping) and n.get("type") == STICKY_NOTE
    }


def execution_marks(workflow: Mapping[str, Any], execution: Mapping[str, Any]) -> Marks:
    """Marks from an n8n execution fetched with its data: nodes in `resultData.runData` ran, the
    node named by the error (else `lastNodeExecuted`) failed with n8n's message, the rest were
    not reached."""
    result = ((execution.get("data") or {}).get("resultData")) or {}
    ran = set((result.get("runData") or {}).keys())
    error = result.get("error")
    status = str(execution.get("status") or "")
    failed: str | None = None
    message = ""
    if error or status in ("error", "crashed"):
        failed = result.get("lastNodeExecuted")
        message = "execution failed"
        if isinstance(error, Mapping):
            err_node = error.get("node")
            if isinstance(err_node, Mapping) and err_node.get("name"):
                failed = str(err_node["name"])
            message = str(error.get("message") or error.get("description") or message)
        elif error:
            message = str(error)
    return run_marks(
        workflow,
        ran=ran,
        failed=str(failed) if failed else None,
        message=message,
        execution_id=str(execution.get("id") or ""),
    )


def run_marks(
    workflow: Mapping[str, Any],
    *,
    ran: set[str] | frozenset[str],
    failed: str | None = None,
    message: str = "",
    execution_id: str = "",
) -> Marks:
    """Marks for one execution: `ran` nodes ran, `failed` failed with `message`, others were not
    reached."""
    nodes: dict[str, NodeMark] = {}
    for name in _node_names(workflow):
        if name == failed:
            nodes[name] = NodeMark.failed
        elif name in ran:
            nodes[name] = NodeMark.ran
        else:
            nodes[name] = NodeMark.not_reached
    where = f"execution {execution_id}" if execution_id else "execution"
    if failed:
        caption = f"{where} failed at {failed}"
        messages = {failed: short_message(message)}
    else:
        caption = f"{where} succeeded"
        messages = {}
    return Marks(nodes=nodes, messages=messages, caption=caption)


def diff_marks(old: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[dict[str, Any], Marks]:
    """The picture of `new` with what changed since `old`: the workflow to draw (new, plus old's
    removed nodes and their connections) and marks for added, removed and changed nodes."""
    from core.n8n.workflow_json import diff_workflows  # pydantic: only when a diff is drawn

    full = diff_workflows(old, new)
    notes = _sticky_notes(old) | _sticky_notes(new)  # not drawn, so not counted either
    diff = replace(
        full,
        added=[n for n in full.added if n not in notes],
        removed=[n for n in full.removed if n not in notes],
        changed=[n for n in full.changed if n not in notes],
    )
    removed = set(diff.removed)
    nodes = list(new.get("nodes") or [])
    nodes += [
        n for n in old.get("nodes") or [] if isinstance(n, Mapping) and n.get("name") in removed
    ]
    connections: dict[str, Any] = {k: v for k, v in (new.get("connections") or {}).items()}
    for src, outputs in (old.get("connections") or {}).items():
        if not isinstance(outputs, Mapping):
            continue
        for kind, lists in outputs.items():
            for i, targets in enumerate(lists or []):
                keep = [
                    t
                    for t in targets or []
                    if isinstance(t, Mapping) and (src in removed or t.get("node") in removed)
                ]
                if keep:
                    merged = connections.setdefault(src, {})
                    merged = connections[src] = {k: list(v) for k, v in merged.items()}
                    slots = merged.setdefault(kind, [])
                    while len(slots) <= i:
                        slots.append([])
                    slots[i] = [*slots[i], *keep]
    marks: dict[str, NodeMark] = {}
    for name in diff.added:
        marks[name] = NodeMark.added
    for name in diff.removed:
        marks[name] = NodeMark.removed
    for name in diff.changed:
        marks[name] = NodeMark.changed
    picture = {"name": new.get("name"), "nodes": nodes, "connections": connections}
    return picture, Marks(nodes=marks, caption=diff.summary())


TEST_COPY_PREFIX = "[clixen test]"  # core.run_now names its copies so (a name reserved to them)


def check_execution_of(
    workflow: Mapping[str, Any], execution: Mapping[str, Any], *, n8n_workflow_id: str | None
) -> None:
    """InvalidInput when `execution` is not a run of `workflow`: of its n8n workflow (or a test
    copy of it) when it has one, else (a file) one that ran only nodes the workflow has. Drawing
    another workflow's run would mark every node "not reached" under a caption that is false."""
    result = ((execution.get("data") or {}).get("resultData")) or {}
    ran = set((result.get("runData") or {}).keys())
    names = {str(n.get("name")) for n in workflow.get("nodes") or [] if isinstance(n, Mapping)}
    of = str(execution.get("workflowId") or "")
    copy_name = str((execution.get("workflowData") or {}).get("name") or "")
    if n8n_workflow_id and of == n8n_workflow_id:
        return
    fits = bool(ran) and ran <= names
    if fits and (n8n_workflow_id is None or copy_name.startswith(TEST_COPY_PREFIX)):
        return
    ident = str(execution.get("id") or "?")
    mine = f"n8n workflow {n8n_workflow_id}" if n8n_workflow_id else "this file's workflow"
    raise InvalidInput(
        f"Execution {ident} is a run of n8n workflow {of or '?'}, not of {mine}: give an "
        "execution of this workflow (its runs are listed in n8n's Executions tab and in the "
        "Slack thread's reports)."
    )
