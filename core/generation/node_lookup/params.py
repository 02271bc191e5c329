"""The prompts' parameter file: every parameter of each node type's newest version (descriptions
and UI text dropped, n8n's builder hints kept), written beside the catalog snapshot by
`clixen catalog refresh` (`core/data/node_params.json.gz`) and loaded on first use; and the values
n8n's editor shows for an operation before the user sets anything (`shown_values`).

The catalog snapshot (`core.catalog`) keeps only what validation needs; prompts need every
parameter. Which parameters show under which values is the validator's own displayOptions logic
(`core.validation.parameters.with_defaults`).
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from core.catalog import VersionClass
from core.generation.node_lookup.choice import Operation, _as_param_specs
from core.validation.parameters import ParamContext, with_defaults
from core.validation.shapes import MISSING

PARAMS_PATH = Path(__file__).resolve().parents[2] / "data" / "node_params.json.gz"
PARAMS_FORMAT = 2


# Parameter types that are UI only.
_UI_TYPES = frozenset({"notice", "callout", "button", "curlImport", "credentials"})
# --- the parameter snapshot -------------------------------------------------------------------


def _slim_property(p: Mapping[str, Any]) -> dict[str, Any] | None:
    """A property without UI text: name, type, default, required, displayOptions, options."""
    ptype = str(p.get("type", "string"))
    if ptype in _UI_TYPES or "name" not in p:
        return None
    out: dict[str, Any] = {"n": p["name"], "t": ptype}
    default = p.get("default")
    # "" / [] / {} defaults matter: n8n's displayOptions compare against them (hide: [""]).
    if default is not None and len(json.dumps(default)) <= 400:
        out["d"] = default
    if p.get("required"):
        out["r"] = 1
    if p.get("displayOptions"):
        out["s"] = p["displayOptions"]
    if (p.get("typeOptions") or {}).get("multipleValues"):
        out["mv"] = 1
    options = p.get("options")
    if ptype in ("options", "multiOptions") and isinstance(options, list):
        values = [o for o in options if isinstance(o, dict) and "value" in o]
        if p["name"] in ("resource", "operation"):
            # The action text ("Send a message") is what a request's words match.
            out["o"] = [[o["value"], o.get("action") or o.get("name", "")] for o in values]
        else:
            out["o"] = [o["value"] for o in values]
    elif ptype == "fixedCollection" and isinstance(options, list):
        out["c"] = [
            {
                "n": o["name"],
                "v": [s for s in (_slim_property(v) for v in o.get("values", [])) if s],
            }
            for o in options
            if isinstance(o, dict) and "name" in o
        ]
    elif ptype == "collection" and isinstance(options, list):
        out["f"] = [o["name"] for o in options if isinstance(o, dict) and "name" in o]
        hints = {
            o["name"]: o["builderHint"]["propertyHint"]
            for o in options
            if isinstance(o, dict)
            and "name" in o
            and isinstance((o.get("builderHint") or {}).get("propertyHint"), str)
        }
        if hints:
            out["fh"] = hints
    kinds = p.get("credentialTypes")
    if ptype == "credentialsSelect" and isinstance(kinds, list):
        out["ct"] = [
            str(k) for k in kinds
        ]  # which credential types it offers, e.g. has:genericAuth
    if ptype in ("resourceLocator", "workflowSelector"):
        out["m"] = [m["name"] for m in p.get("modes") or [] if isinstance(m, dict) and "name" in m]
    rule = ((p.get("typeOptions") or {}).get("filter") or {}).get("version")
    if ptype == "filter" and isinstance(rule, str):
        out["fv"] = rule  # which options.version the filter has at each node version
    hint = (p.get("builderHint") or {}).get("propertyHint")
    if isinstance(hint, str) and hint.strip():
        out["bh"] = hint.strip()  # n8n's own advice to its workflow builder
    return out


def build_params_snapshot(
    descriptions: Iterable[tuple[str, Mapping[str, Any]]],
    credentials: Iterable[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """The newest implementation class of every node type, slimmed for prompts, and the
    credential types marked `genericAuth` (what HTTP Request's genericAuthType offers)."""
    newest: dict[str, tuple[float, Mapping[str, Any]]] = {}
    for prefix, desc in descriptions:
        full = desc["name"] if "." in desc["name"] else prefix + desc["name"]
        raw = desc.get("version", 1)
        top = max(float(v) for v in (raw if isinstance(raw, list) else [raw]))
        if full not in newest or top > newest[full][0]:
            newest[full] = (top, desc)
    nodes = {}
    for full, (version, desc) in newest.items():
        props = [_slim_property(p) for p in desc.get("properties", [])]
        nodes[full] = {"v": version, "p": [p for p in props if p]}
        hint = (desc.get("builderHint") or {}).get("searchHint")
        if isinstance(hint, str) and hint.strip():
            nodes[full]["h"] = hint.strip()
    generic = sorted(str(c["name"]) for c in credentials if c.get("genericAuth") and c.get("name"))
    return {"format": PARAMS_FORMAT, "nodes": nodes, "generic_auth": generic}


def read_credential_descriptions(root: Path) -> list[Mapping[str, Any]]:
    """The credential type descriptions of the n8n-nodes-base installed under `root`."""
    rel = "n8n-nodes-base/dist/types/credentials.json"
    direct = [root / d / rel for d in ("npm/node_modules", "node_modules", ".")]
    found = [p for p in direct if p.is_file()] or sorted(
        root.rglob(rel), key=lambda p: len(p.parts)
    )
    if not found:
        raise FileNotFoundError(f"no {rel} under {root}")
    data: list[Mapping[str, Any]] = json.loads(found[0].read_text())
    return data


def write_params_snapshot(
    descriptions: Iterable[tuple[str, Mapping[str, Any]]],
    out: Path = PARAMS_PATH,
    credentials: Iterable[Mapping[str, Any]] = (),
) -> None:
    raw = json.dumps(
        build_params_snapshot(descriptions, credentials), separators=(",", ":"), sort_keys=True
    )
    out.write_bytes(gzip.compress(raw.encode(), compresslevel=9, mtime=0))
    default_params.cache_clear()


@lru_cache(maxsize=1)
def default_params() -> Mapping[str, Any]:
    """Node type → its slimmed newest class ({} when the snapshot is missing)."""
    try:
        data = json.loads(gzip.decompress(PARAMS_PATH.read_bytes()))
    except OSError:
        return {}
    if data.get("format") != PARAMS_FORMAT:
        return {}
    nodes: Mapping[str, Any] = data["nodes"]
    return nodes


@lru_cache(maxsize=1)
def generic_auth_types() -> tuple[str, ...]:
    """The credential types n8n marks `genericAuth` (HTTP Request's genericAuthType values)."""
    try:
        data = json.loads(gzip.decompress(PARAMS_PATH.read_bytes()))
    except OSError:
        return ()
    return tuple(data.get("generic_auth") or ())


# --- rendering ----------------------------------------------------------------------------------


def _params_of(node_type: str) -> Mapping[str, Any] | None:
    """The slimmed parameters of `node_type` (a `<type>Tool` variant has its base's, plus the
    description parameters n8n adds to every tool variant)."""
    nodes = default_params()
    node = nodes.get(node_type)
    if node is None and node_type.endswith("Tool"):
        return _tool_variant(node_type.removesuffix("Tool"))
    return node


@lru_cache(maxsize=256)
def _tool_variant(base_type: str) -> Mapping[str, Any] | None:
    """n8n's derived `<type>Tool` node (`convertNodeToAiTool`, n8n/dist/tool-generation): the base's
    parameters and `toolDescription` — behind `descriptionType: manual` on a node with
    resources or operations, where n8n describes the tool from the operation by default."""
    node: Mapping[str, Any] | None = default_params().get(base_type)
    if node is None:
        return None
    names = {p["n"] for p in node["p"]}
    if "toolDescription" in names:
        return node
    added: list[dict[str, Any]] = []
    description: dict[str, Any] = {"n": "toolDescription", "t": "string", "d": "", "r": 1}
    if names & {"resource", "operation"}:
        added.append({"n": "descriptionType", "t": "options", "o": ["auto", "manual"], "d": "auto"})
        description["s"] = {"show": {"descriptionType": ["manual"]}}
    added.append(description)
    return {**node, "p": [*node["p"], *added]}


def shown_values(
    node: Mapping[str, Any],
    node_type: str,
    op: Operation,
    switches: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Every parameter value n8n holds for `op` before the user sets anything (defaults, and
    an options parameter without one at its first option, as the editor shows it), with the
    `switches` the caller turned (e.g. {"sendBody": True}) set first."""
    props = node["p"]
    vc = VersionClass((node["v"],), None, 0, _as_param_specs(props))
    ctx = ParamContext(version=node["v"], node_type=node_type)
    chosen: dict[str, Any] = {
        k: v for k, v in (("resource", op.resource), ("operation", op.operation)) if v
    }
    chosen.update(switches or {})
    values = with_defaults(vc, chosen, ctx)
    # An options parameter without a default shows its first option in n8n's editor; what that
    # option displays (Slack's channel for "select") is what the model must see.
    for p in props:
        if p["t"] == "options" and p.get("o") and values.get(p["n"]) in (None, "", MISSING):
            if p["n"] in (switches or {}):
                continue
            first = p["o"][0]
            chosen[p["n"]] = first[0] if isinstance(first, list) else first
    return with_defaults(vc, chosen, ctx)
