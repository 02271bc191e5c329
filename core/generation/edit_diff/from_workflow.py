"""`operations_from_workflow(current, proposed)`: the edit operations that turn `current` into
`proposed` — rename (same node id, new name), remove, add, update_parameters (a merge patch of
the parameters, type and typeVersion), disconnect/connect, update_settings. Credentials of the
nodes that stay are never touched (the model never sees their ids); a new node's credential
reference keeps its secret name only."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from core.generation.edits import MAX_OPERATIONS, EditReply, Operation, parse_operations
from core.generation.replies import MAX_SUMMARY_CHARS
from core.kernel.safety import LLMOutputInvalid, parse_llm_json

Link = tuple[str, str, int, int, str]


def _nodes(workflow: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    nodes = workflow.get("nodes")
    if not isinstance(nodes, list):
        return {}
    return {n["name"]: n for n in nodes if isinstance(n, dict) and isinstance(n.get("name"), str)}


def _links(connections: Any, rename: Mapping[str, str]) -> set[Link]:
    out: set[Link] = set()
    if not isinstance(connections, dict):
        return out
    for source, by_type in connections.items():
        if not isinstance(by_type, dict):
            continue
        for conn_type, outputs in by_type.items():
            for index, group in enumerate(outputs if isinstance(outputs, list) else []):
                for link in group if isinstance(group, list) else []:
                    if isinstance(link, dict) and isinstance(link.get("node"), str):
                        target = rename.get(link["node"], link["node"])
                        inp = link.get("index", 0)
                        out.add(
                            (
                                rename.get(source, source),
                                target,
                                index,
                                inp if isinstance(inp, int) else 0,
                                str(conn_type),
                            )
                        )
    return out


def _patch(old: Any, new: Any) -> Any:
    """The RFC 7386 merge patch that turns `old` into `new` (None when they are equal)."""
    if not isinstance(old, dict) or not isinstance(new, dict):
        return None if old == new else new
    patch: dict[str, Any] = {}
    for key in old.keys() - new.keys():
        patch[key] = None
    for key, value in new.items():
        if key not in old:
            patch[key] = value
        elif old[key] != value:
            sub = _patch(old[key], value)
            # A null inside a value list cannot be said as a patch: replace the whole value.
            patch[key] = value if sub is None or not isinstance(value, dict) else sub
    return patch or None


def _credential_names(raw: Any) -> dict[str, dict[str, str]] | None:
    if not isinstance(raw, dict):
        return None
    refs = {
        ctype: {"name": ref["name"]}
        for ctype, ref in raw.items()
        if isinstance(ref, dict) and isinstance(ref.get("name"), str) and ref["name"]
    }
    return refs or None


def operations_from_workflow(
    current: Mapping[str, Any], proposed: Mapping[str, Any]
) -> list[Operation]:
    """The operations that turn `current` into `proposed`; raises LLMOutputInvalid when they
    change nothing or are too many to be an edit."""
    return parse_operations(list(_raw_operations(current, proposed)) or _nothing())


def _nothing() -> list[Any]:
    raise LLMOutputInvalid(
        "the reply is the workflow unchanged: answer with the operations the change needs"
    )


def _raw_operations(
    current: Mapping[str, Any], proposed: Mapping[str, Any]
) -> Iterator[dict[str, Any]]:
    """Renames (a node with the same id under a new name), removals, additions, updates,
    connection changes and settings, in the order they apply."""
    old, new = _nodes(current), _nodes(proposed)
    new_by_id = {n.get("id"): name for name, n in new.items() if n.get("id")}
    rename: dict[str, str] = {}
    for name, node in old.items():
        moved = new_by_id.get(node.get("id")) if node.get("id") else None
        if name not in new and moved is not None and moved not in old:
            rename[name] = moved
            yield {"op": "rename_node", "node": name, "new_name": moved}
    kept = {rename.get(name, name) for name in old}
    for name in old:
        if rename.get(name, name) not in new:
            yield {"op": "remove_node", "node": name}
    for name, node in new.items():
        if name in kept:
            continue
        yield {"op": "add_node", "node": _added_node(name, node)}
    for old_name, node in old.items():
        name = rename.get(old_name, old_name)
        if name not in new:
            continue
        update = _node_update(node, new[name])
        if update:
            yield {"op": "update_parameters", "node": name, **update}
    before, after_links = (
        _links(current.get("connections"), rename),
        _links(proposed.get("connections"), {}),
    )
    for source, target, output, inp, kind in sorted(before - after_links):
        if source in new and target in new:  # links of removed nodes go with them
            yield _link("disconnect", source, target, output, inp, kind)
    for source, target, output, inp, kind in sorted(after_links - before):
        yield _link("connect", source, target, output, inp, kind)
    settings = proposed.get("settings")
    if isinstance(settings, dict) and settings != (current.get("settings") or {}):
        yield {"op": "update_settings", "settings": settings}


def _added_node(name: str, node: Mapping[str, Any]) -> dict[str, Any]:
    """A new node as `add_node` takes it: type, parameters, and version, position and
    credentials (by name) when the reply has them."""
    added: dict[str, Any] = {
        "name": name,
        "type": node.get("type"),
        "parameters": node.get("parameters") if isinstance(node.get("parameters"), dict) else {},
    }
    if isinstance(node.get("typeVersion"), int | float):
        added["typeVersion"] = node["typeVersion"]
    if isinstance(node.get("position"), list):
        added["position"] = node["position"]
    credentials = _credential_names(node.get("credentials"))
    if credentials:
        added["credentials"] = credentials
    return added


def _node_update(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """What `update_parameters` changes in a kept node: its parameters patched, and its type
    and version when they changed (empty: the node is unchanged)."""
    update: dict[str, Any] = {}
    params = _patch(before.get("parameters") or {}, after.get("parameters") or {})
    if params:
        update["parameters"] = params
    if after.get("type") != before.get("type") and isinstance(after.get("type"), str):
        update["type"] = after["type"]
    if after.get("typeVersion") != before.get("typeVersion") and isinstance(
        after.get("typeVersion"), int | float
    ):
        update["typeVersion"] = after["typeVersion"]
    return update


def _link(op: str, source: str, target: str, output: int, inp: int, kind: str) -> dict[str, Any]:
    return {"op": op, "from": source, "to": target, "output": output, "input": inp, "type": kind}


def edit_from_whole_workflow(text: str, current: Mapping[str, Any]) -> EditReply | None:
    """The edit a reply means when it is a whole workflow (`{"workflow": {...}}` or a bare
    one) instead of operations; None when it is not a workflow. Raises LLMOutputInvalid when
    the workflow changes nothing or the diff is not a valid edit."""
    try:
        data = parse_llm_json(text)
    except LLMOutputInvalid:
        return None
    inner = data.get("workflow")
    workflow: dict[str, Any] = inner if isinstance(inner, dict) else data
    if not isinstance(workflow.get("nodes"), list) or not workflow["nodes"]:
        return None
    summary = data.get("summary")
    return EditReply(
        operations=operations_from_workflow(current, workflow),
        summary=summary.strip()[:MAX_SUMMARY_CHARS] if isinstance(summary, str) else "",
    )


__all__ = ["MAX_OPERATIONS", "edit_from_whole_workflow", "operations_from_workflow"]
