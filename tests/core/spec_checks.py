"""Checks of node specs against n8n's own node definitions (the installed n8n's nodes.json, read
here independently of the slimmed snapshot the product ships): shared by
tests/core/test_spec_correctness.py and benchmarks/spec_correctness.py."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from core.catalog import ParamSpec, VersionClass, default_catalog
from core.generation.node_hints import offerable
from core.generation.node_lookup.operations import operation_pairs
from core.generation.specs import node_spec_for
from core.generation.templates import TemplateLibrary
from core.validation.parameters import ParamContext, with_defaults
from core.validation.shapes import MISSING

REPO = Path(__file__).resolve().parents[2]
NODES_JSON = (
    ("n8n-nodes-base.", REPO / ".stack/npm/node_modules/n8n-nodes-base/dist/types/nodes.json"),
    (
        "@n8n/n8n-nodes-langchain.",
        REPO / ".stack/npm/node_modules/@n8n/n8n-nodes-langchain/dist/types/nodes.json",
    ),
)
_UI = {"notice", "callout", "button", "curlImport", "credentials"}


@lru_cache(maxsize=1)
def n8n_descriptions() -> dict[str, Mapping[str, Any]]:
    """Node type → the description of its newest version, from the installed n8n."""
    newest: dict[str, tuple[float, Mapping[str, Any]]] = {}
    for prefix, path in NODES_JSON:
        if not path.exists():
            raise AssertionError(f"{path} is missing: run scripts/n8n_stack.sh install")
        for desc in json.loads(path.read_text()):
            name = desc["name"] if "." in desc["name"] else prefix + desc["name"]
            raw = desc.get("version", 1)
            top = max(float(v) for v in (raw if isinstance(raw, list) else [raw]))
            if name not in newest or top > newest[name][0]:
                newest[name] = (top, desc)
    return {name: desc for name, (_, desc) in newest.items()}


def most_used_types(library: TemplateLibrary, limit: int) -> list[str]:
    catalog = default_catalog()
    out = []
    for node_type, _ in library.type_counts().most_common():
        spec = catalog.get(node_type)
        if spec is None or not offerable(spec, catalog) or node_type.endswith("stickyNote"):
            continue
        out.append(node_type)
        if len(out) >= limit:
            break
    return out


def _param(p: Mapping[str, Any]) -> ParamSpec:
    return ParamSpec(
        name=p["name"],
        type=str(p.get("type", "string")),
        default=p.get("default"),
        required=bool(p.get("required")),
        display_options=p.get("displayOptions"),
    )


def displayed_names(node_type: str, resource: str | None, operation: str | None) -> set[str]:
    """The parameter names n8n's editor displays for this operation of the newest version
    (options without a default at their first option, as the editor shows them)."""
    descriptions = n8n_descriptions()
    desc = descriptions.get(node_type) or _tool_variant(
        descriptions[node_type.removesuffix("Tool")]
    )
    raw = desc.get("version", 1)
    version = max(float(v) for v in (raw if isinstance(raw, list) else [raw]))
    props = [p for p in desc.get("properties", []) if "name" in p and p.get("type") not in _UI]
    vc = VersionClass((version,), None, 0, tuple(_param(p) for p in props))
    ctx = ParamContext(version=version, node_type=node_type)
    chosen: dict[str, Any] = {
        k: v for k, v in (("resource", resource), ("operation", operation)) if v
    }
    values = with_defaults(vc, chosen, ctx)
    for p in props:
        options = [o for o in p.get("options") or [] if isinstance(o, dict) and "value" in o]
        if p.get("type") == "options" and options and values.get(p["name"]) in (None, "", MISSING):
            chosen[p["name"]] = options[0]["value"]
    values = with_defaults(vc, chosen, ctx)
    shown = set()
    for p in props:
        single = VersionClass(vc.versions, None, 0, (_param(p),))
        probe = {k: v for k, v in values.items() if k != p["name"]}
        if p["name"] in with_defaults(single, probe, ctx):
            shown.add(p["name"])
    return shown - {"resource", "operation"}


def _tool_variant(desc: Mapping[str, Any]) -> Mapping[str, Any]:
    """The `<type>Tool` description n8n derives at load time (n8n/dist/tool-generation/
    ai-tools.js `convertNodeToAiTool`): `toolDescription`, behind `descriptionType: manual` when
    the node has resources or operations."""
    props = list(desc.get("properties", []))
    names = {p.get("name") for p in props}
    if "toolDescription" in names:
        return desc
    tool: dict[str, Any] = {"name": "toolDescription", "type": "string", "required": True}
    if names & {"resource", "operation"}:
        props.append(
            {
                "name": "descriptionType",
                "type": "options",
                "options": [{"value": "auto"}, {"value": "manual"}],
                "default": "auto",
            }
        )
        tool["displayOptions"] = {"show": {"descriptionType": ["manual"]}}
    return {**desc, "properties": [*props, tool]}


def _ids_outside_id_fields(value: Any, key: str = "", in_locator: bool = False) -> list[str]:
    if isinstance(value, dict):
        locator = value.get("__rl") is True
        return [hit for k, v in value.items() for hit in _ids_outside_id_fields(v, k, locator)]
    if isinstance(value, list):
        return [hit for v in value for hit in _ids_outside_id_fields(v, key, in_locator)]
    if value == "<id>" and not in_locator and "id" not in key.lower():
        return [key]
    return []


def check_specs(node_types: Iterable[str], library: TemplateLibrary) -> dict[str, list[str]]:
    """Per check, the (type, resource, operation) that fail it; plus what was checked."""
    catalog = default_catalog()
    out: dict[str, list[str]] = {
        "checked": [],
        "checked_types": [],
        "wrong_parameters": [],
        "foreign_example_keys": [],
        "id_in_non_id_field": [],
        "examples": [],
    }
    for node_type in node_types:
        pairs: list[tuple[str | None, str | None]] = list(
            operation_pairs(
                node_type.removesuffix("Tool") if catalog.nodes[node_type].hidden else node_type
            )
        ) or [(None, None)]
        out["checked_types"].append(node_type)
        for resource, operation in pairs:
            label = f"{node_type} {resource}/{operation}"
            spec = node_spec_for(
                catalog.nodes[node_type], resource=resource, operation=operation, library=library
            )
            out["checked"].append(label)
            names = set(spec.get("parameters", {}))
            expected = displayed_names(node_type, resource, operation)
            if names != expected:
                out["wrong_parameters"].append(
                    f"{label}: extra {sorted(names - expected)} missing {sorted(expected - names)}"
                )
            example = spec.get("example_parameters")
            if example is None:
                continue
            out["examples"].append(label)
            # A switched-on parameter (listed under `when`) is a spec key too.
            when = {n for group in (spec.get("when") or {}).values() for n in group}
            foreign = set(example) - names - when - {"resource", "operation"}
            if foreign:
                out["foreign_example_keys"].append(f"{label}: {sorted(foreign)}")
            bad = _ids_outside_id_fields(example)
            if bad:
                out["id_in_non_id_field"].append(f"{label}: {bad}")
    return out
