"""Defective copies of real workflows, one class of defect per copy, for the validator benchmark.

Each mutator takes a workflow (never modified), a seeded `random.Random` and the node catalog, and
returns a mutated deep copy, or None when the defect cannot be planted in that workflow (e.g. no
IF node to wire an output 2 from). The catalog is used only to plant defects that are real
(a parameter n8n really requires, a version the node really lacks), never to decide the verdict.

`WHEN_N8N_FAILS` records what n8n 2.40.7 itself does with each class (measured, see the shared
design notes): "create" (400 at POST /workflows), "activation", "run" (fails when executed) or
"silent" (accepted, wrong). The benchmark's ≥ 95 % target applies to every class but "silent".
"""

from __future__ import annotations

import copy
import random
import re
from collections.abc import Callable
from typing import Any

from core.catalog import CHECKED_REQUIRED_TYPES, MANUAL_TRIGGERS, NodeCatalog, NodeSpec

STICKY_NOTE = "n8n-nodes-base.stickyNote"
IF_NODE = "n8n-nodes-base.if"

Workflow = dict[str, Any]
Mutator = Callable[[Workflow, random.Random, NodeCatalog], Workflow | None]


def _real_nodes(wf: Workflow) -> list[dict[str, Any]]:
    return [n for n in wf["nodes"] if isinstance(n, dict) and n.get("type") != STICKY_NOTE]


def _pick(rng: random.Random, items: list[Any]) -> Any:
    return items[rng.randrange(len(items))] if items else None


def _is_trigger(node: dict[str, Any], catalog: NodeCatalog) -> bool:
    ntype = str(node.get("type", ""))
    spec = catalog.get(ntype)
    if spec is not None:
        return spec.is_trigger or spec.is_manual_trigger
    return (
        ntype in MANUAL_TRIGGERS or ntype.lower().endswith("trigger") or "webhook" in ntype.lower()
    )


def _edges(wf: Workflow) -> list[tuple[str, str, int, dict[str, Any]]]:
    """(source, connection type, output index, target dict) for every connection."""
    out = []
    for source, outputs in (wf.get("connections") or {}).items():
        for ctype, branches in (outputs or {}).items():
            for index, branch in enumerate(branches or []):
                for target in branch or []:
                    out.append((source, ctype, index, target))
    return out


# -- one function per defect class ----------------------------------------------------------------


def unknown_type(wf: Workflow, rng: random.Random, catalog: NodeCatalog) -> Workflow | None:
    """A node type that does not exist (an invented integration)."""
    out = copy.deepcopy(wf)
    node = _pick(rng, [n for n in _real_nodes(out) if not _is_trigger(n, catalog)])
    if node is None:
        return None
    short = str(node["type"]).rsplit(".", 1)[-1]
    node["type"] = f"n8n-nodes-base.{short}Pro"
    return out


def missing_prefix(wf: Workflow, rng: random.Random, catalog: NodeCatalog) -> Workflow | None:
    """The package prefix left off: "slack" instead of "n8n-nodes-base.slack"."""
    out = copy.deepcopy(wf)
    node = _pick(rng, [n for n in _real_nodes(out) if "." in str(n.get("type", ""))])
    if node is None:
        return None
    node["type"] = str(node["type"]).rsplit(".", 1)[-1]
    return out


def type_version_too_high(
    wf: Workflow, rng: random.Random, catalog: NodeCatalog
) -> Workflow | None:
    """A typeVersion one above the newest the installed n8n has (a model trained on newer docs)."""
    out = copy.deepcopy(wf)
    candidates = [n for n in _real_nodes(out) if catalog.get(str(n.get("type"))) is not None]
    node = _pick(rng, candidates)
    if node is None:
        return None
    spec: NodeSpec = catalog.nodes[node["type"]]
    node["typeVersion"] = int(spec.latest_version) + 1
    return out


def dangling_connection(wf: Workflow, rng: random.Random, catalog: NodeCatalog) -> Workflow | None:
    """A connection to a node that does not exist."""
    out = copy.deepcopy(wf)
    edges = [e for e in _edges(out) if e[1] == "main"]
    edge = _pick(rng, edges)
    if edge is None:
        return None
    edge[3]["node"] = "Ghost Node"
    return out


def id_keyed_connection(wf: Workflow, rng: random.Random, catalog: NodeCatalog) -> Workflow | None:
    """Connections keyed by node id instead of node name."""
    out = copy.deepcopy(wf)
    ids = {n["name"]: n.get("id") for n in _real_nodes(out) if n.get("id")}
    sources = [s for s in out.get("connections") or {} if ids.get(s) and ids[s] != s]
    source = _pick(rng, sources)
    if source is None:
        return None
    out["connections"][ids[source]] = out["connections"].pop(source)
    return out


def duplicate_name(wf: Workflow, rng: random.Random, catalog: NodeCatalog) -> Workflow | None:
    """Two nodes with the same name (a copied node not renamed)."""
    out = copy.deepcopy(wf)
    node = _pick(rng, [n for n in _real_nodes(out) if not _is_trigger(n, catalog)])
    if node is None:
        return None
    twin = copy.deepcopy(node)
    twin["id"] = f"{node.get('id', 'x')}-copy"
    pos = node.get("position") or [0, 0]
    twin["position"] = [pos[0] + 200, pos[1] + 200]
    out["nodes"].append(twin)
    return out


def bad_position(wf: Workflow, rng: random.Random, catalog: NodeCatalog) -> Workflow | None:
    """A position that is not two numbers."""
    out = copy.deepcopy(wf)
    node = _pick(rng, _real_nodes(out))
    if node is None:
        return None
    node["position"] = _pick(rng, ["100,200", [100], {"x": 100, "y": 200}, [100, "200px"]])
    return out


_EXPR = re.compile(r"\{\{(.*?)\}\}", re.S)


def unbalanced_expression(
    wf: Workflow, rng: random.Random, catalog: NodeCatalog
) -> Workflow | None:
    """An expression with an unclosed parenthesis: "={{ ($json.a }}"."""
    out = copy.deepcopy(wf)
    spots: list[tuple[Any, Any]] = []

    def walk(container: Any) -> None:
        items = container.items() if isinstance(container, dict) else enumerate(container)
        for key, value in items:
            if isinstance(value, str) and value.startswith("=") and _EXPR.search(value):
                spots.append((container, key))
            elif isinstance(value, dict | list):
                walk(value)

    for node in _real_nodes(out):
        if node.get("type") != "n8n-nodes-base.code" and isinstance(node.get("parameters"), dict):
            walk(node["parameters"])
    spot = _pick(rng, spots)
    if spot is None:
        return None
    container, key = spot
    container[key] = _EXPR.sub(lambda m: "{{ (" + m.group(1) + "}}", container[key], count=1)
    return out


def if_output_2(wf: Workflow, rng: random.Random, catalog: NodeCatalog) -> Workflow | None:
    """A connection from output index 2 of an IF node (it has only true=0 and false=1)."""
    out = copy.deepcopy(wf)
    # With onError=continueErrorOutput an IF really has a third (error) output.
    ifs = [
        n["name"]
        for n in _real_nodes(out)
        if n.get("type") == IF_NODE and n.get("onError") != "continueErrorOutput"
    ]
    source = _pick(rng, ifs)
    if source is None:
        return None
    targets = [n["name"] for n in _real_nodes(out) if n["name"] != source]
    target = _pick(rng, targets)
    if target is None:
        return None
    main = out.setdefault("connections", {}).setdefault(source, {}).setdefault("main", [])
    while len(main) < 3:
        main.append([])
    main[2].append({"node": target, "type": "main", "index": 0})
    return out


def missing_required_parameter(
    wf: Workflow, rng: random.Random, catalog: NodeCatalog
) -> Workflow | None:
    """A parameter n8n requires (always shown, empty by default) removed from a node."""
    out = copy.deepcopy(wf)
    choices: list[tuple[dict[str, Any], str]] = []
    for node in _real_nodes(out):
        spec = catalog.get(str(node.get("type")))
        params = node.get("parameters")
        if spec is None or not isinstance(params, dict) or node.get("disabled"):
            continue
        vclass = spec.version_class(node.get("typeVersion"))
        if vclass is None:
            continue
        for p in vclass.params:
            if (
                p.required
                and p.type in CHECKED_REQUIRED_TYPES
                and not p.display_options
                and p.default in ("", None)
                and params.get(p.name) not in (None, "")
            ):
                choices.append((node, p.name))
    choice = _pick(rng, choices)
    if choice is None:
        return None
    node, name = choice
    del node["parameters"][name]
    return out


def no_trigger(wf: Workflow, rng: random.Random, catalog: NodeCatalog) -> Workflow | None:
    """Every trigger removed (with its connections): nothing can start a run."""
    out = copy.deepcopy(wf)
    triggers = {n["name"] for n in _real_nodes(out) if _is_trigger(n, catalog)}
    if not triggers or len(triggers) == len(_real_nodes(out)):
        return None
    out["nodes"] = [n for n in out["nodes"] if n.get("name") not in triggers]
    out["connections"] = {
        s: v for s, v in (out.get("connections") or {}).items() if s not in triggers
    }
    return out


def missing_type(wf: Workflow, rng: random.Random, catalog: NodeCatalog) -> Workflow | None:
    """A node without a "type"."""
    out = copy.deepcopy(wf)
    node = _pick(rng, _real_nodes(out))
    if node is None:
        return None
    del node["type"]
    return out


def nodes_not_a_list(wf: Workflow, rng: random.Random, catalog: NodeCatalog) -> Workflow | None:
    """`nodes` as an object keyed by name (a common LLM slip)."""
    out = copy.deepcopy(wf)
    out["nodes"] = {n.get("name", str(i)): n for i, n in enumerate(out["nodes"])}
    return out


def duplicate_node_id(wf: Workflow, rng: random.Random, catalog: NodeCatalog) -> Workflow | None:
    """Two nodes sharing one id (a copied node, or a placeholder id left in twice)."""
    out = copy.deepcopy(wf)
    nodes = [n for n in _real_nodes(out) if n.get("id")]
    if len(nodes) < 2:
        return None
    first, second = rng.sample(nodes, 2)
    second["id"] = first["id"]
    return out


def credentials_not_an_object(
    wf: Workflow, rng: random.Random, catalog: NodeCatalog
) -> Workflow | None:
    """A node's `credentials` given as a string instead of {type: {id, name}}."""
    out = copy.deepcopy(wf)
    node = _pick(rng, [n for n in _real_nodes(out) if isinstance(n.get("credentials"), dict)])
    if node is None or not node["credentials"]:
        return None
    node["credentials"] = next(iter(node["credentials"]))
    return out


MUTATORS: dict[str, Mutator] = {
    "unknown_type": unknown_type,
    "missing_prefix": missing_prefix,
    "type_version_too_high": type_version_too_high,
    "dangling_connection": dangling_connection,
    "id_keyed_connection": id_keyed_connection,
    "duplicate_name": duplicate_name,
    "bad_position": bad_position,
    "unbalanced_expression": unbalanced_expression,
    "if_output_2": if_output_2,
    "missing_required_parameter": missing_required_parameter,
    "no_trigger": no_trigger,
    "missing_type": missing_type,
    "nodes_not_a_list": nodes_not_a_list,
    "duplicate_node_id": duplicate_node_id,
    "credentials_not_an_object": credentials_not_an_object,
}

WHEN_N8N_FAILS: dict[str, str] = {
    "unknown_type": "activation",
    "missing_prefix": "activation",
    "type_version_too_high": "activation",  # run time on nodes with a single version class
    "dangling_connection": "create",
    "id_keyed_connection": "create",
    "duplicate_name": "create",
    "bad_position": "create",
    "unbalanced_expression": "run",
    "if_output_2": "silent",
    "missing_required_parameter": "activation",
    "no_trigger": "activation",
    "missing_type": "create",
    "nodes_not_a_list": "create",
    "duplicate_node_id": "create",  # 400 duplicate_node_id (measured on template #3997)
    "credentials_not_an_object": "create",  # 400 …/credentials Expected object (template #4654)
}
