"""The fixes that need no LLM, applied before validation: `apply_deterministic_fixes` repairs
what a machine can fix for free (typeVersion too high or missing, id-keyed connections, missing
package prefix, missing "=" before an expression, null fields, missing ids or positions, n8n's
Slack Trigger that never fires here turned into Clixen's), so LLM
repairs are spent only on real problems. Pure: a fixed copy and the list of what changed."""

from __future__ import annotations

import copy
import re
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from core.catalog import NodeCatalog
from core.validation.slack_trigger import replace_n8n_slack_triggers

_EXPR = re.compile(r"\{\{.*\}\}", re.S)


def _fix_expressions(value: Any) -> tuple[Any, int]:
    """Prefix "=" to string parameters that hold a {{ }} expression without it."""
    if isinstance(value, str):
        if not value.startswith("=") and _EXPR.search(value):
            return "=" + value, 1
        return value, 0
    if isinstance(value, list):
        total = 0
        items = []
        for item in value:
            fixed, n = _fix_expressions(item)
            items.append(fixed)
            total += n
        return items, total
    if isinstance(value, dict):
        total = 0
        out = {}
        for k, v in value.items():
            fixed, n = _fix_expressions(v)
            out[k] = fixed
            total += n
        return out, total
    return value, 0


def apply_deterministic_fixes(
    workflow: Mapping[str, Any], *, known_versions: Mapping[str, Sequence[float]]
) -> tuple[dict[str, Any], list[str]]:
    """A copy of `workflow` with machine-fixable mistakes repaired, and what was changed.

    `known_versions` maps each known node type to the typeVersions the installed n8n supports.
    """
    wf = copy.deepcopy(dict(workflow))
    fixes: list[str] = replace_n8n_slack_triggers(wf)
    nodes = wf.get("nodes")
    if not isinstance(nodes, list):
        return wf, fixes
    ids_to_names: dict[str, str] = {}
    seen_ids: set[str] = set()
    for i, node in enumerate(nodes):
        if not isinstance(node, dict):
            continue
        name, nid = node.get("name"), node.get("id")  # the id connections may be keyed by
        fixes += [f"{name}: {fix}" for fix in _fix_node(node, i, known_versions, seen_ids)]
        seen_ids.add(node["id"])
        if isinstance(nid, str) and isinstance(name, str):
            ids_to_names[nid] = name
    names = {n.get("name") for n in nodes if isinstance(n, dict)}
    conns = wf.get("connections")
    if isinstance(conns, dict):
        renamed: dict[str, Any] = {}
        for source, outputs in conns.items():
            if source not in names and source in ids_to_names:
                fixes.append(f"connections: keyed {source!r} by node name instead of id")
                source = ids_to_names[source]
            renamed[source] = _rename_targets(outputs, names, ids_to_names, fixes)
        wf["connections"] = renamed
    return wf, fixes


def _fix_node(
    node: dict[str, Any], i: int, known_versions: Mapping[str, Sequence[float]], seen: set[str]
) -> list[str]:
    """Fix one node in place (the `i`-th; `seen`: ids of the nodes before it); what changed."""
    fixes: list[str] = []
    # n8n refuses `null` in any node field; an omitted optional field means its default.
    nulls = [k for k, v in node.items() if v is None and k not in ("name", "type")]
    for key in nulls:
        del node[key]
    if nulls:
        fixes.append(f"dropped empty field(s) {', '.join(sorted(nulls))}")
    fixes += _fix_type_and_version(node, known_versions)
    if "parameters" not in node or not isinstance(node.get("parameters"), dict):
        node["parameters"] = {}
    else:
        node["parameters"], n = _fix_expressions(node["parameters"])
        if n:
            fixes.append(f"added the missing '=' before {n} expression(s)")
    nid = node.get("id")
    if not isinstance(nid, str) or not nid or nid in seen:
        node["id"] = str(uuid.uuid4())
        fixes.append("gave the node a unique id")
    pos = node.get("position")
    if not (
        isinstance(pos, list)
        and len(pos) == 2
        and all(isinstance(p, int | float) and not isinstance(p, bool) for p in pos)
    ):
        node["position"] = [250 + 220 * i, 300]
        fixes.append("gave the node a position")
    return fixes


def _fix_type_and_version(
    node: dict[str, Any], known_versions: Mapping[str, Sequence[float]]
) -> list[str]:
    fixes: list[str] = []
    ntype = node.get("type")
    if isinstance(ntype, str) and ntype not in known_versions:
        for prefix in ("n8n-nodes-base.", "@n8n/n8n-nodes-langchain."):
            if prefix + ntype in known_versions:
                node["type"] = ntype = prefix + ntype
                fixes.append("added the package prefix to the node type")
                break
    versions = known_versions.get(ntype) if isinstance(ntype, str) else None
    if versions:
        highest = max(versions)
        tv = node.get("typeVersion")
        if not isinstance(tv, int | float) or isinstance(tv, bool):
            node["typeVersion"] = _num(highest)
            fixes.append(f"set the missing typeVersion to {_num(highest)}")
        elif tv not in versions:
            fixed = max((v for v in versions if v <= tv), default=highest)
            node["typeVersion"] = _num(fixed)
            fixes.append(f"typeVersion {tv} is not supported, using {_num(fixed)}")
    return fixes


def _rename_targets(
    outputs: Any, names: set[Any], ids_to_names: Mapping[str, str], fixes: list[str]
) -> Any:
    if not isinstance(outputs, dict):
        return outputs
    for groups in outputs.values():
        if not isinstance(groups, list):
            continue
        for group in groups:
            if not isinstance(group, list):
                continue
            for link in group:
                if isinstance(link, dict):
                    target = link.get("node")
                    if isinstance(target, str) and target not in names and target in ids_to_names:
                        link["node"] = ids_to_names[target]
                        fixes.append(f"connections: target {target!r} named instead of id")
    return outputs


def _num(v: float) -> float | int:
    return int(v) if float(v).is_integer() else v


def known_versions(catalog: NodeCatalog) -> Mapping[str, tuple[float, ...]]:
    """Every node type the installed n8n knows, with its supported typeVersions."""
    return catalog.versions()
