"""What changed between two versions of an n8n workflow, at parameter level.

`diff_workflows(old, new)` compares nodes by name (a node keeping its id under a new name is a
rename), each node's parameters key by key, its other fields, the credential types it uses, the
links between nodes and the workflow settings. `WorkflowDiff.lines()` says it in a user's words
("Post to Slack: channel #news → #ops", "+ node Filter", "Trigger → Filter connected"): values
shortened, expressions shown as their text, credentials only by type (never an id or a name).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

# How much of a value a diff line shows, and how many lines a one-line description keeps.
MAX_VALUE_CHARS = 40
MAX_DETAIL_LINES = 12
# Node fields that are not a change a user would call one (canvas position, the node's id).
_IGNORED_NODE_KEYS = frozenset({"position", "id", "name", "parameters", "credentials"})


@dataclass(frozen=True)
class WorkflowDiff:
    """What changed between two versions of a workflow, by node name."""

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    connections_changed: bool = False
    settings_changed: bool = False
    # (old name, new name) of nodes that kept their id under a new name.
    renamed: list[tuple[str, str]] = field(default_factory=list)
    # For each changed node, its changes in words ("channelId: #news → #ops").
    node_changes: dict[str, list[str]] = field(default_factory=dict)
    # Links between nodes ("Trigger → Filter"), gone and new.
    links_added: list[str] = field(default_factory=list)
    links_removed: list[str] = field(default_factory=list)
    settings_changes: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (
            self.added
            or self.removed
            or self.changed
            or self.renamed
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
        if self.renamed:
            parts.append(f"{len(self.renamed)} renamed")
        if self.changed:
            parts.append(f"~{len(self.changed)} changed ({', '.join(self.changed)})")
        if self.connections_changed:
            parts.append("connections changed")
        if self.settings_changed:
            parts.append("settings changed")
        return ", ".join(parts) if parts else "no changes"

    def lines(self) -> list[str]:
        """Each change in words, one per line: nodes renamed, changed (parameter by parameter),
        added and removed, then links and settings."""
        out = [f"{old} renamed to {new}" for old, new in self.renamed]
        for name in self.changed:
            changes = self.node_changes.get(name) or ["changed"]
            out.append(f"{name}: " + "; ".join(changes))
        out += [f"+ node {name}" for name in self.added]
        out += [f"− node {name}" for name in self.removed]
        out += [f"{link} connected" for link in self.links_added]
        out += [f"{link} disconnected" for link in self.links_removed]
        out += [f"settings: {change}" for change in self.settings_changes]
        return out

    def details(self, *, limit: int = MAX_DETAIL_LINES) -> str:
        """`lines()` joined on one line ("A: x 1 → 2; + node B"), at most `limit` of them."""
        lines = self.lines()
        if not lines:
            return "no changes"
        more = len(lines) - limit
        return "; ".join(lines[:limit]) + (f"; … {more} more" if more > 0 else "")


def _as_dict(wf: Any) -> dict[str, Any]:
    if isinstance(wf, BaseModel):
        return dict(wf.model_dump(by_alias=True, exclude_none=True))
    if isinstance(wf, Mapping):
        return dict(wf)
    raise TypeError(f"expected a workflow dict, got {type(wf).__name__}")


def _nodes_by_name(d: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for n in d.get("nodes") or []:
        if isinstance(n, dict) and isinstance(n.get("name"), str):
            out[n["name"]] = n
    return out


def _same(a: Any, b: Any) -> bool:
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)


def shorten(value: Any, limit: int = MAX_VALUE_CHARS) -> str:
    """A value as a diff shows it: a resource locator by its value, an expression as its text,
    anything else as compact JSON; cut to `limit` characters."""
    if isinstance(value, Mapping) and value.get("__rl"):
        value = value.get("cachedResultName") or value.get("value")
    if isinstance(value, str):
        text = value[1:] if value.startswith("={{") else value
    else:
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _by_name(items: Any) -> dict[str, Any] | None:
    """A list of objects each with its own unique "name" (a Set node's assignments, a filter's
    conditions…) keyed by it, so one changed entry is one change; else None."""
    if not isinstance(items, list) or not items:
        return None
    names = [i.get("name") if isinstance(i, Mapping) else None for i in items]
    if not all(isinstance(n, str) and n for n in names) or len(set(names)) != len(names):
        return None
    return {f"[{n}]": i for n, i in zip(names, items, strict=True)}


def _flatten(value: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Leaf values by dotted path; a resource locator and a list are one leaf each, except a
    list of named objects, which is keyed by name."""
    out: dict[str, Any] = {}
    for key, item in value.items():
        path = f"{prefix}{key}"
        named = _by_name(item)
        if named is not None:
            out.update(_flatten(named, path))
        elif isinstance(item, Mapping) and item and not item.get("__rl"):
            out.update(_flatten(item, path + "."))
        else:
            out[path] = item
    return out


def value_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """Key by key: "path: a → b", "+ path = b", "− path" (values shortened)."""
    o, n = _flatten(old), _flatten(new)
    out = []
    for path in sorted(set(o) | set(n)):
        if path not in n:
            out.append(f"− {path}")
        elif path not in o:
            out.append(f"+ {path} = {shorten(n[path])}")
        elif not _same(o[path], n[path]):
            out.append(f"{path}: {shorten(o[path])} → {shorten(n[path])}")
    return out


def _credential_types(node: Mapping[str, Any]) -> set[str]:
    creds = node.get("credentials")
    return {str(k) for k in creds} if isinstance(creds, Mapping) else set()


def node_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """How one node changed, in words: its other fields, parameters and credentials (by type:
    a credential's id and name are never shown)."""
    out = []
    for key in sorted((set(old) | set(new)) - _IGNORED_NODE_KEYS):
        if not _same(old.get(key), new.get(key)):
            out.append(f"{key} {shorten(old.get(key))} → {shorten(new.get(key))}")
    out += value_changes(old.get("parameters") or {}, new.get("parameters") or {})
    before, after = _credential_types(old), _credential_types(new)
    out += [f"+ credential {t}" for t in sorted(after - before)]
    out += [f"− credential {t}" for t in sorted(before - after)]
    old_creds, new_creds = old.get("credentials") or {}, new.get("credentials") or {}
    out += [
        f"credential {t} replaced"
        for t in sorted(before & after)
        if not _same(old_creds.get(t), new_creds.get(t))
    ]
    return out


def _links(connections: Any, rename: Mapping[str, str]) -> set[str]:
    """Every link as "Source → Target" (with the output, when not the first main one)."""
    out: set[str] = set()
    if not isinstance(connections, Mapping):
        return out
    for source, outputs in connections.items():
        if not isinstance(outputs, Mapping):
            continue
        src = rename.get(source, source)
        for kind, slots in outputs.items():
            for index, targets in enumerate(slots or []):
                for target in targets or []:
                    if not isinstance(target, Mapping) or not isinstance(target.get("node"), str):
                        continue
                    dst = rename.get(target["node"], target["node"])
                    via = "" if kind == "main" and index == 0 else f" ({kind} {index})"
                    out.add(f"{src}{via} → {dst}")
    return out


def _renames(on: Mapping[str, dict[str, Any]], nn: Mapping[str, dict[str, Any]]) -> dict[str, str]:
    """Old name → new name of nodes whose id stayed while the name changed."""
    new_by_id = {n.get("id"): name for name, n in nn.items() if n.get("id") and name not in on}
    return {
        name: new_by_id[n["id"]]
        for name, n in on.items()
        if name not in nn and n.get("id") in new_by_id
    }


def _names(items: Iterable[str]) -> list[str]:
    return sorted(items)


def diff_workflows(old: Any, new: Any) -> WorkflowDiff:
    """Nodes added, removed, renamed and changed (parameter by parameter) from `old` to `new`,
    links made and broken, and settings changed."""
    o, n = _as_dict(old), _as_dict(new)
    on, nn = _nodes_by_name(o), _nodes_by_name(n)
    rename = _renames(on, nn)
    pairs = {name: name for name in set(on) & set(nn)} | rename
    changes = {
        pairs[name]: found for name in pairs if (found := node_changes(on[name], nn[pairs[name]]))
    }
    old_links = _links(o.get("connections"), rename)
    new_links = _links(n.get("connections"), {})
    settings = value_changes(o.get("settings") or {}, n.get("settings") or {})
    return WorkflowDiff(
        added=_names(set(nn) - set(on) - set(rename.values())),
        removed=_names(set(on) - set(nn) - set(rename)),
        changed=_names(changes),
        connections_changed=not _same(o.get("connections") or {}, n.get("connections") or {}),
        settings_changed=bool(settings),
        renamed=sorted(rename.items()),
        node_changes=changes,
        links_added=_names(new_links - old_links),
        links_removed=_names(old_links - new_links),
        settings_changes=settings,
    )
