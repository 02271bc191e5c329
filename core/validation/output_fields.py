"""Field checks: an expression that reads a field the upstream node does not output.

`$json.X` reads the item from the node's main input; `$('Node').item.json.X` (also `.first()`,
`.last()`, `$node["Node"].json.X`) reads that node's output. Where that node's output shape is
known (`core.catalog.output_schemas`: n8n's own schemas, plus RSS items and the Schedule Trigger's
item), a field it does not have is a `unknown_output_field` warning naming the fields it does have,
case-insensitive near misses first. Only warnings: schemas describe typical output, and options
(simplify, custom fields) can change it.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from typing import Any

from core.catalog import NodeCatalog
from core.catalog.output_schemas import Shape, output_shape
from core.validation.expressions import expression_strings
from core.validation.report import Issue

_FIELD = r"(?:\.([A-Za-z_$][\w$]*)|\[\s*(['\"])(.+?)\2\s*\])"
_JSON_REF = re.compile(r"(?<![\w.$])\$json" + _FIELD)
_NODE_REF = re.compile(
    r"""(?:\$\(\s*(['"])(?P<a>.+?)\1\s*\)\s*\.\s*(?:item|first\(\s*\)|last\(\s*\)|itemMatching\([^)]*\))"""
    r"""|\$node\[\s*(['"])(?P<b>.+?)\3\s*\])\s*\.\s*json""" + _FIELD.replace("\\2", "\\6")
)
MAX_LISTED = 12
UNKNOWN_FIELD = "unknown_output_field"
# Options that add fields beyond the node's schema (RSS Read's custom fields).
_ADDS_FIELDS = ("customFields",)
# Nodes whose items carry the user's own columns: their schemas hold a sample table's columns
# (on 1,762 real templates these were most of the false alarms), so they are not checked.
USER_COLUMN_NAMES = (
    "dataTable supabase googleSheets airtable baserow nocoDb postgres mySql microsoftSql "
    "seaTable quickbase microsoftExcel googleBigQuery snowflake mongoDb"
)
USER_COLUMNS = frozenset("n8n-nodes-base." + t for t in USER_COLUMN_NAMES.split())


def _default_of(spec_params: Iterable[Any], name: str, resource: str | None) -> str | None:
    for p in spec_params:
        if p.name != name:
            continue
        show = (p.display_options or {}).get("show") or {}
        resources = show.get("resource")
        if name == "operation" and resources is not None and resource not in resources:
            continue
        return str(p.default) if isinstance(p.default, str) and p.default else None
    return None


def node_output_shape(node: Mapping[str, Any], catalog: NodeCatalog) -> dict[str, Shape] | None:
    """The output item shape of `node` (None: unknown, or its options may reshape it)."""
    params = node.get("parameters") or {}
    if not isinstance(params, Mapping):
        return None
    raw_options = params.get("options")
    options: Mapping[str, Any] = raw_options if isinstance(raw_options, Mapping) else {}
    if any(k in options or k in params for k in _ADDS_FIELDS):
        return None
    if params.get("simple") is False:  # the full, unsimplified reply: not what schemas describe
        return None
    kind = str(node.get("type"))
    if kind in USER_COLUMNS:
        return None
    raw_version = node.get("typeVersion")
    version = float(raw_version) if isinstance(raw_version, int | float) else None
    resource = params.get("resource") if isinstance(params.get("resource"), str) else None
    operation = params.get("operation") if isinstance(params.get("operation"), str) else None
    spec = catalog.get(kind)
    klass = spec.version_class(version) if spec else None
    if klass is not None:
        resource = resource or _default_of(klass.params, "resource", None)
        operation = operation or _default_of(klass.params, "operation", resource)
    if resource and resource.startswith("="):
        return None
    if operation and operation.startswith("="):
        return None
    shape = output_shape(kind, version, resource, operation)
    # A schema of one field is a sample of a bare reply ({"success": true}), not a contract.
    return shape if shape and len(shape) > 1 else None


def _near_first(field: str, have: list[str]) -> list[str]:
    by_lower = {h.lower(): h for h in reversed(have)}
    lower = [h for h in have if h.lower() == field.lower()]
    close = [by_lower[c] for c in difflib.get_close_matches(field.lower(), list(by_lower), n=5)]
    ordered: list[str] = []
    for h in [*lower, *close, *have]:
        if h not in ordered:
            ordered.append(h)
    return ordered


def _refs(text: str) -> Iterable[tuple[str | None, str]]:
    """(node name or None for $json, top-level field) for each field read in `text`."""
    for m in _JSON_REF.finditer(text):
        yield None, m.group(1) or m.group(3)
    for m in _NODE_REF.finditer(text):
        yield m.group("a") or m.group("b"), m.group(5) or m.group(7)


def field_issues(
    nodes: Mapping[str, Mapping[str, Any]],
    edges: Iterable[tuple[str, str, str]],
    catalog: NodeCatalog,
) -> list[Issue]:
    """`unknown_output_field` warnings for the workflow's nodes (see the module docstring)."""
    inputs: dict[str, set[str]] = {}
    for src, dst, kind in edges:
        if kind == "main":
            inputs.setdefault(dst, set()).add(src)
    shapes: dict[str, dict[str, Shape] | None] = {}

    def shape_of(name: str) -> dict[str, Shape] | None:
        if name not in shapes:
            node = nodes.get(name)
            shapes[name] = node_output_shape(node, catalog) if node else None
        return shapes[name]

    issues: list[Issue] = []
    seen: set[tuple[str, str | None, str]] = set()
    for name, node in nodes.items():
        texts = [t for _, t in expression_strings(node.get("parameters"), "parameters")]
        params = node.get("parameters")
        code = params.get("jsCode") if isinstance(params, Mapping) else None
        if isinstance(code, str):
            texts.append(code)  # only $('Node') references count there (see below)
        for i, text in enumerate(texts):
            for source, field in _refs(text):
                if source is None:
                    if isinstance(code, str) and i == len(texts) - 1:
                        continue  # $json in code is the item of "each item" mode: not checked
                    upstream = inputs.get(name) or set()
                    if len(upstream) != 1:
                        continue
                    source = next(iter(upstream))
                    written = f"$json.{field}"
                else:
                    written = f"$('{source}')….json.{field}"
                shape = shape_of(source)
                if not shape or field in shape or (name, source, field) in seen:
                    continue
                if field.endswith("__c"):  # a Salesforce custom field: no schema lists those
                    continue
                seen.add((name, source, field))
                issues.append(_unknown_field(name, source, field, written=written, shape=shape))
    return issues


def _unknown_field(
    name: str, source: str, field: str, *, written: str, shape: Mapping[str, Shape]
) -> Issue:
    """The warning for node `name` reading `field`, which `source` does not output: the fields
    it has, nearest first, and the right spelling when only the case differs."""
    have = _near_first(field, list(shape))
    listed = ", ".join(have[:MAX_LISTED]) + (" …" if len(have) > MAX_LISTED else "")
    best = have[0] if have and have[0].lower() == field.lower() else None
    hint = (
        f'Write "{best}" (field names are case-sensitive).'
        if best
        else f'Read one of the fields "{source}" outputs.'
    )
    return Issue(
        UNKNOWN_FIELD,
        f'Node "{name}" reads {written}, but "{source}" outputs no field "{field}"; it has: '
        f"{listed}.",
        node=name,
        severity="warning",
        hint=hint,
    )
