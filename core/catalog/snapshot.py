"""The shipped snapshot: built from n8n's own `dist/types/nodes.json` files (`clixen catalog
refresh`), loaded lazily (a type's `NodeSpec` is built when first looked up, so `clixen validate`
starts at once)."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from core.catalog.index import NodeCatalog
from core.catalog.node_spec import (
    BASE_PREFIX,
    CHECKED_REQUIRED_TYPES,
    LANGCHAIN_PREFIX,
    SNAPSHOT_FORMAT,
    SNAPSHOT_PATH,
    NodeSpec,
    SpecsOnDemand,
)
from core.catalog.slack_trigger import slack_trigger_spec
from core.kernel.slack_trigger import SLACK_TRIGGER_TYPE

# ---------------------------------------------------------------------------------------------
# Building from n8n's nodes.json and (de)serialising the snapshot


def _version_list(v: Any) -> tuple[float, ...]:
    vs = v if isinstance(v, list) else [v]
    return tuple(float(x) for x in vs)


def _outputs(desc: Mapping[str, Any]) -> tuple[str, ...] | None:
    outs = desc.get("outputs")
    if isinstance(outs, str):
        return None
    if not isinstance(outs, list):
        return ("main",)
    types = []
    for o in outs:
        types.append(o if isinstance(o, str) else str(o.get("type", "main")))
    return tuple(types)


def _inputs(desc: Mapping[str, Any]) -> tuple[str, ...] | None:
    ins = desc.get("inputs")
    if not isinstance(ins, list):
        return None  # an expression: n8n computes them from the parameters
    return tuple(i if isinstance(i, str) else str(i.get("type", "main")) for i in ins)


def _keys_in(display_options: Mapping[str, Any] | None) -> set[str]:
    keys: set[str] = set()
    for part in ("show", "hide"):
        for k in (display_options or {}).get(part, {}) or {}:
            keys.add(k.lstrip("/").split(".", 1)[0])
    return keys


def _mode_regexes(p: Mapping[str, Any]) -> dict[str, list[str]] | None:
    if p.get("type") not in ("resourceLocator", "workflowSelector", "agentSelector"):
        return None
    out: dict[str, list[str]] = {}
    for mode in p.get("modes") or []:
        rx = [
            v["properties"]["regex"]
            for v in mode.get("validation") or []
            if isinstance(v, dict) and v.get("type") == "regex" and v.get("properties")
        ]
        if rx:
            out[mode["name"]] = rx
    return out or None


def _class_from_description(desc: Mapping[str, Any]) -> dict[str, Any]:
    props = [p for p in desc.get("properties", []) if isinstance(p, dict) and "name" in p]
    creds = [c for c in desc.get("credentials") or [] if isinstance(c, dict) and c.get("name")]
    keep: set[str] = {
        p["name"]
        for p in props
        if (p.get("required") and p.get("type") in CHECKED_REQUIRED_TYPES) or _mode_regexes(p)
    }
    # Which credential applies depends on these (and HTTP Request names its type in them).
    for c in creds:
        keep |= _keys_in(c.get("displayOptions"))
    keep |= {"authentication", "nodeCredentialType", "genericAuthType"} & {p["name"] for p in props}
    # Keep the parameters the kept ones' displayOptions read, transitively, for their defaults.
    frontier = set(keep)
    while frontier:
        referenced: set[str] = set()
        for p in props:
            if p["name"] in frontier:
                referenced |= _keys_in(p.get("displayOptions"))
        frontier = referenced - keep
        keep |= frontier
    params = []
    for p in props:
        if p["name"] not in keep:
            continue
        checked = bool(p.get("required")) and p.get("type") in CHECKED_REQUIRED_TYPES
        params.append(
            [
                p["name"],
                p.get("type", "string"),
                p.get("default"),
                checked,
                p.get("displayOptions"),
                bool((p.get("typeOptions") or {}).get("multipleValues")),
                _mode_regexes(p),
            ]
        )
    outs = _outputs(desc)
    return {
        "versions": list(_version_list(desc.get("version", 1))),
        "outputs": list(outs) if outs is not None else None,
        "inputs": list(ins) if (ins := _inputs(desc)) is not None else None,
        "output_names": len(desc.get("outputNames") or []),
        "params": params,
        "credentials": [
            [c["name"], bool(c.get("required")), c.get("displayOptions")] for c in creds
        ],
    }


def build_snapshot(
    descriptions: Iterable[tuple[str, Mapping[str, Any]]], n8n_version: str = ""
) -> dict[str, Any]:
    """Compact snapshot data from (package prefix, node description) pairs."""
    nodes: dict[str, dict[str, Any]] = {}
    for prefix, desc in descriptions:
        full = desc["name"] if "." in desc["name"] else prefix + desc["name"]
        entry = nodes.setdefault(full, _new_entry(full, desc))
        cls = _class_from_description(desc)
        entry["classes"].append(cls)
        _merge_description(entry, desc)
        if desc.get("usableAsTool") and not full.endswith("Tool"):
            # n8n derives an AI-agent tool variant ("<type>Tool") of these nodes at load time.
            tool = nodes.setdefault(full + "Tool", _tool_entry(entry))
            tool["classes"].append({**cls, "outputs": ["ai_tool"], "output_names": 0, "inputs": []})
            if desc.get("defaultVersion") is not None:
                tool["default_version"] = float(desc["defaultVersion"])
    for entry in nodes.values():
        if entry["default_version"] is None:
            entry["default_version"] = max(v for c in entry["classes"] for v in c["versions"])
        entry["classes"] = json.dumps(entry["classes"], separators=(",", ":"), sort_keys=True)
    return {"format": SNAPSHOT_FORMAT, "n8n_version": n8n_version, "nodes": nodes}


def _new_entry(full: str, desc: Mapping[str, Any]) -> dict[str, Any]:
    """A node type's entry from its first description; later versions merge into it."""
    return {
        "display_name": desc.get("displayName", full),
        "description": desc.get("description", ""),
        "group": list(desc.get("group", [])),
        "credentials": [],
        "aliases": [],
        "categories": [],
        "webhook": False,
        "polling": False,
        "hidden": bool(desc.get("hidden")),
        "default_version": None,
        "classes": [],
    }


def _merge_description(entry: dict[str, Any], desc: Mapping[str, Any]) -> None:
    """Add one version's description to the type's entry: its default version, webhook and
    polling flags, and credential types, aliases and categories not listed yet."""
    if desc.get("defaultVersion") is not None:
        entry["default_version"] = float(desc["defaultVersion"])
    entry["webhook"] = entry["webhook"] or bool(desc.get("webhooks"))
    entry["polling"] = entry["polling"] or bool(desc.get("polling"))
    for c in desc.get("credentials") or []:
        if c.get("name") and c["name"] not in entry["credentials"]:
            entry["credentials"].append(c["name"])
    codex = desc.get("codex") or {}
    for a in codex.get("alias") or []:
        if a not in entry["aliases"]:
            entry["aliases"].append(a)
    for c in codex.get("categories") or []:
        if c not in entry["categories"]:
            entry["categories"].append(c)


def _tool_entry(entry: dict[str, Any]) -> dict[str, Any]:
    """The entry of a node's AI-agent tool variant: hidden, no trigger group, and the very
    lists of credential types and aliases of the node (versions merged later show in both)."""
    return {
        "display_name": f"{entry['display_name']} Tool",
        "description": entry["description"],
        "group": [g for g in entry["group"] if g != "trigger"],
        "credentials": entry["credentials"],
        "aliases": entry["aliases"],
        "categories": ["AI", "Tools"],
        "webhook": False,
        "polling": False,
        "hidden": True,
        "default_version": None,
        "classes": [],
    }


def catalog_from_snapshot(data: Mapping[str, Any]) -> NodeCatalog:
    if data.get("format") != SNAPSHOT_FORMAT:
        raise ValueError(
            f"node catalog snapshot format {data.get('format')} is not {SNAPSHOT_FORMAT}: "
            "rebuild it with `clixen catalog refresh`"
        )
    return NodeCatalog(
        nodes=SpecsOnDemand(data["nodes"], clixen_nodes()),
        n8n_version=str(data.get("n8n_version", "")),
    )


def clixen_nodes() -> dict[str, NodeSpec]:
    """Clixen's own node types, which Clixen compiles into n8n nodes at deploy time."""
    return {SLACK_TRIGGER_TYPE: slack_trigger_spec()}


def find_nodes_json(root: Path) -> list[tuple[str, Path]]:
    """The (prefix, path) of n8n's node description files under `root` (an n8n install)."""
    found: list[tuple[str, Path]] = []
    for pkg, prefix in (
        ("n8n-nodes-base", BASE_PREFIX),
        ("@n8n/n8n-nodes-langchain", LANGCHAIN_PREFIX),
    ):
        rel = f"{pkg}/dist/types/nodes.json"
        direct = [root / d / rel for d in ("npm/node_modules", "node_modules", ".")]
        candidates = [p for p in direct if p.is_file()] or sorted(
            root.rglob(rel), key=lambda p: len(p.parts)
        )
        if candidates:
            found.append((prefix, candidates[0]))
    return found


def _n8n_version(root: Path) -> str:
    direct = [root / d / "n8n/package.json" for d in ("npm/node_modules", "node_modules")]
    found = [p for p in direct if p.is_file()] or sorted(
        root.rglob("node_modules/n8n/package.json"), key=lambda p: len(p.parts)
    )
    for pj in found:
        try:
            return str(json.loads(pj.read_text())["version"])
        except (OSError, ValueError, KeyError):
            continue
    return ""


def read_descriptions(root: Path) -> list[tuple[str, Mapping[str, Any]]]:
    """Every node description of the n8n installed under `root`, with its package prefix."""
    files = find_nodes_json(root)
    if not any(prefix == BASE_PREFIX for prefix, _ in files):
        raise FileNotFoundError(f"no n8n-nodes-base/dist/types/nodes.json under {root}")
    pairs: list[tuple[str, Mapping[str, Any]]] = []
    for prefix, path in files:
        pairs.extend((prefix, d) for d in json.loads(path.read_text()))
    return pairs


def refresh_snapshot(root: Path, out: Path = SNAPSHOT_PATH) -> NodeCatalog:
    """Rebuild the snapshot file from the n8n installed under `root`; returns the new catalog.
    (`clixen catalog refresh` also rebuilds the prompts' parameter file and output schemas.)"""
    data = build_snapshot(read_descriptions(root), _n8n_version(root))
    out.parent.mkdir(parents=True, exist_ok=True)
    raw = json.dumps(data, separators=(",", ":"), sort_keys=True).encode()
    out.write_bytes(gzip.compress(raw, compresslevel=9, mtime=0))
    default_catalog.cache_clear()
    return catalog_from_snapshot(data)


def load_catalog(path: Path = SNAPSHOT_PATH) -> NodeCatalog:
    return catalog_from_snapshot(json.loads(gzip.decompress(path.read_bytes())))


@lru_cache(maxsize=1)
def default_catalog() -> NodeCatalog:
    """The catalog shipped with the product (loaded once per process)."""
    return load_catalog()
