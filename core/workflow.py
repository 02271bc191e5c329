"""The n8n workflow JSON: a tolerant pydantic model, canonical form, checksum, API payload, diff."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from core.n8n.payload import NODE_KEYS, SETTINGS_KEYS

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


@dataclass(frozen=True)
class WorkflowDiff:
    """What changed between two versions of a workflow, by node name."""

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    connections_changed: bool = False
    settings_changed: bool = False

    @property
    def empty(self) -> bool:
        return not (
            self.added
            or self.removed
            or self.changed
            or self.connections_changed
            or self.settings_changed
        )

    def summary(self) -> str:
        """One line such as "+2 nodes (A, B), −1 (C), ~1 changed (D), connections changed"."""
        parts = []
        if self.added:
            noun = "node" if len(self.added) == 1 else "nodes"
            parts.append(f"+{len(self.added)} {noun} ({', '.join(self.added)})")
        if self.removed:
            parts.append(f"−{len(self.removed)} ({', '.join(self.removed)})")
        if self.changed:
            parts.append(f"~{len(self.changed)} changed ({', '.join(self.changed)})")
        if self.connections_changed:
            parts.append("connections changed")
        if self.settings_changed:
            parts.append("settings changed")
        return ", ".join(parts) if parts else "no changes"


def _nodes_by_name(d: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for n in d.get("nodes") or []:
        if isinstance(n, dict) and isinstance(n.get("name"), str):
            out[n["name"]] = n
    return out


def _node_content(n: dict[str, Any]) -> str:
    # Moving a node on the canvas or a new node id is not a change a user would call one.
    return json.dumps(
        {k: v for k, v in n.items() if k not in ("position", "id")}, sort_keys=True, default=str
    )


def diff_workflows(old: Any, new: Any) -> WorkflowDiff:
    """Nodes added, removed and changed (by name) from `old` to `new`, plus connection changes."""
    o, n = _as_dict(old), _as_dict(new)
    on, nn = _nodes_by_name(o), _nodes_by_name(n)
    return WorkflowDiff(
        added=sorted(set(nn) - set(on)),
        removed=sorted(set(on) - set(nn)),
        changed=sorted(
            k for k in set(on) & set(nn) if _node_content(on[k]) != _node_content(nn[k])
        ),
        connections_changed=json.dumps(o.get("connections") or {}, sort_keys=True)
        != json.dumps(n.get("connections") or {}, sort_keys=True),
        settings_changed=json.dumps(o.get("settings") or {}, sort_keys=True)
        != json.dumps(n.get("settings") or {}, sort_keys=True),
    )
