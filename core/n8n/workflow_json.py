"""The n8n workflow JSON: a tolerant pydantic model, canonical form, checksum, API payload, diff.

This is the JSON n8n stores and runs; the product's own workflow records (projects, versions,
heads) are `core.deploy.workflows`.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from core.n8n.diff import WorkflowDiff, diff_workflows
from core.n8n.payload import NODE_KEYS, SETTINGS_KEYS

__all__ = [
    "N8nNode",
    "N8nWorkflow",
    "WorkflowDiff",
    "canonical_form",
    "canonical_json",
    "checksum",
    "diff_workflows",
    "to_n8n_payload",
]

# What the n8n public API accepts is known in one place, the n8n boundary.
NODE_API_KEYS = NODE_KEYS
SETTINGS_API_KEYS = SETTINGS_KEYS
# Workflow-level fields that change without the workflow changing (ids, timestamps, UI state).
VOLATILE_WORKFLOW_KEYS = frozenset(
    {
        "id",
        "versionId",
        "activeVersionId",
        "createdAt",
        "updatedAt",
        "meta",
        "pinData",
        "active",
        "tags",
        "shared",
        "isArchived",
        "triggerCount",
        "homeProject",
        "usedCredentials",
        "scopes",
        "parentFolder",
        "activeVersion",
        "versionCounter",
    }
)


def _origin() -> list[int | float]:
    return [0, 0]


class N8nNode(BaseModel):
    """One node of a workflow. Unknown keys are kept (n8n adds new ones over time)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    id: str | None = None
    name: str
    type: str
    type_version: int | float | None = Field(default=None, alias="typeVersion")
    position: list[int | float] = Field(default_factory=_origin)
    parameters: dict[str, Any] = Field(default_factory=dict)
    credentials: dict[str, Any] | None = None
    disabled: bool | None = None
    webhook_id: str | None = Field(default=None, alias="webhookId")
    notes: str | None = None
    on_error: str | None = Field(default=None, alias="onError")


class N8nWorkflow(BaseModel):
    """An n8n workflow as exported or generated. Unknown keys are kept."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    name: str = "Untitled workflow"
    nodes: list[N8nNode] = Field(default_factory=list)
    connections: dict[str, dict[str, list[list[dict[str, Any]] | None]]] = Field(
        default_factory=dict
    )
    settings: dict[str, Any] = Field(default_factory=dict)
    static_data: dict[str, Any] | None = Field(default=None, alias="staticData")

    def node(self, name: str) -> N8nNode | None:
        return next((n for n in self.nodes if n.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True)


def _as_dict(wf: Any) -> dict[str, Any]:
    if isinstance(wf, BaseModel):
        return dict(wf.model_dump(by_alias=True, exclude_none=True))
    if isinstance(wf, dict):
        return wf
    raise TypeError(f"expected a workflow dict, got {type(wf).__name__}")


def canonical_form(wf: Any) -> dict[str, Any]:
    """The workflow without volatile fields, nodes ordered by name (what "the same" means)."""
    d = _as_dict(wf)
    out = {k: v for k, v in d.items() if k not in VOLATILE_WORKFLOW_KEYS}
    nodes = out.get("nodes")
    if isinstance(nodes, list):
        out["nodes"] = sorted(
            nodes, key=lambda n: str(n.get("name", "")) if isinstance(n, dict) else ""
        )
    return out


def canonical_json(wf: Any) -> str:
    """Stable JSON text of a workflow: sorted keys, nodes by name, no volatile fields."""
    return json.dumps(canonical_form(wf), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def checksum(wf: Any) -> str:
    """SHA-256 hex digest of the canonical JSON."""
    return hashlib.sha256(canonical_json(wf).encode()).hexdigest()


def to_n8n_payload(wf: Any) -> dict[str, Any]:
    """The body for `POST/PUT /api/v1/workflows`: only the fields and keys the API accepts."""
    d = _as_dict(wf)
    nodes = []
    for n in d.get("nodes") or []:
        if isinstance(n, dict):
            nodes.append({k: v for k, v in n.items() if k in NODE_API_KEYS and v is not None})
    settings = d.get("settings") if isinstance(d.get("settings"), dict) else {}
    payload: dict[str, Any] = {
        "name": str(d.get("name") or "Untitled workflow"),
        "nodes": nodes,
        "connections": d.get("connections") if isinstance(d.get("connections"), dict) else {},
        "settings": {k: v for k, v in (settings or {}).items() if k in SETTINGS_API_KEYS},
    }
    if isinstance(d.get("staticData"), dict):
        payload["staticData"] = d["staticData"]
    return payload
