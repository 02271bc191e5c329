"""Checks of the graph: connections (endpoints, outputs, entries), triggers and reachability."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from core.catalog import NodeSpec
from core.validation.report import Issue
from core.validation.shapes import (
    HINT_CONN,
    STICKY_NOTE,
    input_count,
    is_number,
    output_count,
)


def check_connections(
    conns: dict[str, Any],
    nodes: dict[str, dict[str, Any]],
    specs: dict[str, NodeSpec | None],
) -> tuple[list[tuple[str, str, str]], list[Issue]]:
    """The valid edges as (source, target, connection type), and what is wrong with the
    connections."""
    out: list[Issue] = []
    ids = {n.get("id"): name for name, n in nodes.items() if isinstance(n.get("id"), str)}
    edges: list[tuple[str, str, str]] = []
    reported: set[tuple[str, str]] = set()

    def bad_endpoint(ref: str, role: str, where: str | None) -> list[Issue]:
        """A connection end that is no node, reported once per name and role."""
        if (ref, role) in reported:
            return []
        reported.add((ref, role))
        return [_not_a_node(ref, role, where, ids)]

    for src, by_type in conns.items():
        src_ok = src in nodes
        if not src_ok:
            out += bad_endpoint(src, "comes from", None)
        if not isinstance(by_type, dict):
            out.append(
                Issue(
                    "invalid_json_shape",
                    f'The connections of "{src}" must be an object keyed by connection type.',
                    node=src if src_ok else None,
                    hint='Write connections as {"Source": {"main": [[{"node": "Target", '
                    '"type": "main", "index": 0}]]}}.',
                )
            )
            continue
        for ctype, outputs in by_type.items():
            if not isinstance(outputs, list):
                out.append(
                    Issue(
                        "invalid_json_shape",
                        f'Connections "{src}".{ctype} must be a list of outputs.',
                        node=src if src_ok else None,
                        hint=HINT_CONN,
                    )
                )
                continue
            n_out = output_count(nodes[src], specs.get(src), ctype) if src_ok else None
            for idx, targets in enumerate(outputs):
                out += _check_targets(
                    src, ctype, idx, targets, n_out, nodes, specs, edges, bad_endpoint
                )
    return edges, out


def _not_a_node(ref: str, role: str, where: str | None, ids: dict[Any, str]) -> Issue:
    """A connection end naming no node: a node's id instead of its name, or nothing at all."""
    if ref in ids:
        return Issue(
            "connection_by_id",
            f'A connection {role} is the node id "{ref}" instead of its name.',
            node=ids[ref],
            hint=f'Key connections by node name: use "{ids[ref]}" instead of "{ref}".',
        )
    return Issue(
        "dangling_connection",
        f'A connection {role} "{ref}", which is not a node of this workflow.',
        node=where,
        hint=f'Remove the connection or point it at an existing node name instead of "{ref}".',
    )


def _check_targets(
    src: str,
    ctype: str,
    idx: int,
    targets: object,
    n_out: int | None,
    nodes: dict[str, dict[str, Any]],
    specs: dict[str, NodeSpec | None],
    edges: list[tuple[str, str, str]],
    bad_endpoint: Callable[[str, str, str | None], list[Issue]],
) -> list[Issue]:
    """The issues of output `idx` of `src`'s `ctype` connections; its edges go to `edges`."""
    out: list[Issue] = []
    src_ok = src in nodes
    if targets is None:
        return out
    if not isinstance(targets, list):
        out.append(
            Issue(
                "invalid_json_shape",
                f'Connections "{src}".{ctype}[{idx}] must be a list of targets.',
                node=src if src_ok else None,
                hint=HINT_CONN,
            )
        )
        return out
    if targets and n_out is not None and idx >= n_out:
        spec = specs.get(src)
        label = spec.display_name if spec else src
        out.append(
            Issue(
                "output_index_out_of_range",
                f'"{src}" ({label}) has {n_out} {ctype} output'
                f"{'' if n_out == 1 else 's'}, but a connection uses output "
                f"{idx} (counted from 0).",
                node=src,
                hint=f'Connect from outputs 0..{n_out - 1} of "{src}" only'
                + (" (IF: 0 = true, 1 = false)." if label == "If" else "."),
            )
        )
    for t in targets:
        if not isinstance(t, dict) or not isinstance(t.get("node"), str):
            out.append(
                Issue(
                    "invalid_json_shape",
                    f'A connection from "{src}" is not an object with a "node".',
                    node=src if src_ok else None,
                    hint=HINT_CONN,
                )
            )
            continue
        out += check_connection_entry(src, ctype, idx, t, src_ok)
        dst = t["node"]
        if dst not in nodes:
            out += bad_endpoint(dst, "goes to", src if src_ok else None)
        else:
            out += check_input_index(t, nodes[dst], specs.get(dst), src, ctype)
            if src_ok:
                edges.append((src, dst, str(t.get("type") or ctype)))
    return out


def check_input_index(
    target: dict[str, Any],
    node: dict[str, Any],
    spec: NodeSpec | None,
    src: str,
    ctype: str,
) -> list[Issue]:
    """A connection into an input the target node does not have (input 100000 of a Set node)
    is refused: n8n's canvas drops it, so the flow silently never reaches the node."""
    out: list[Issue] = []
    index, ttype = target.get("index"), target.get("type")
    ttype = ttype if isinstance(ttype, str) and ttype else ctype
    if not is_number(index) or not float(index).is_integer() or index < 0:
        return out  # check_connection_entry reports it
    n_in = input_count(node, spec, ttype)
    if n_in is None or index < n_in:
        return out
    dst = str(target["node"])
    label = spec.display_name if spec else dst
    shown = f"{int(index)}" if index < 1_000_000 else "a huge number"
    out.append(
        Issue(
            "input_index_out_of_range",
            f'"{dst}" ({label}) has {n_in} {ttype} input{"" if n_in == 1 else "s"}, but the '
            f'connection from "{src}" goes into input {shown} (counted from 0).',
            node=dst,
            hint=f'Connect into inputs 0..{n_in - 1} of "{dst}" only'
            + (
                " (a Merge takes more with parameters.numberInputs, up to 10)."
                if spec is not None and spec.type == "n8n-nodes-base.merge"
                else "."
            ),
        )
    )
    return out


def check_connection_entry(
    src: str, ctype: str, idx: int, target: dict[str, Any], src_ok: bool
) -> list[Issue]:
    # n8n's structure check: every entry has a non-empty "type" and an integer "index" >= 0.
    out: list[Issue] = []
    ttype, tindex = target.get("type"), target.get("index")
    where = f'The connection from "{src}" ({ctype}[{idx}]) to "{target["node"]}"'
    if not isinstance(ttype, str) or not ttype:
        problem = 'has no "type"' if ttype is None else '"type" is not a non-empty string'
    elif not is_number(tindex) or not float(tindex).is_integer() or tindex < 0:
        problem = 'has no "index"' if tindex is None else '"index" is not a whole number >= 0'
    else:
        return out
    out.append(
        Issue(
            "invalid_json_shape",
            f"{where}: {problem}.",
            node=src if src_ok else None,
            hint=HINT_CONN,
        )
    )
    return out


# -- triggers and reachability --------------------------------------------------------------


def check_triggers_and_reachability(
    nodes: dict[str, dict[str, Any]],
    specs: dict[str, NodeSpec | None],
    edges: list[tuple[str, str, str]],
) -> list[Issue]:
    out: list[Issue] = []
    live = {n for n in nodes if nodes[n].get("disabled") is not True}
    triggers = {n for n in live if (s := specs.get(n)) is not None and s.lets_n8n_activate}
    manual = {n for n in live if (s := specs.get(n)) is not None and s.is_manual_trigger}
    unknown = any(specs.get(n) is None for n in live)
    if not triggers and not unknown:
        if manual:
            msg = (
                "The workflow only has a manual trigger, which cannot run on its own, so "
                "n8n will not activate it."
            )
        else:
            msg = "The workflow has no trigger node, so n8n will not activate it."
        out.append(
            Issue(
                "no_trigger",
                msg,
                hint="Start the workflow with a trigger such as Schedule Trigger "
                "(n8n-nodes-base.scheduleTrigger), Webhook or an app trigger.",
            )
        )
    roots = triggers | manual
    if not roots:
        return out
    forward: dict[str, set[str]] = {}
    for src, dst, ctype in edges:
        forward.setdefault(src, set()).add(dst)
        if ctype != "main":
            # Sub-nodes (models, tools, memory) feed their parent; they run with it.
            forward.setdefault(dst, set()).add(src)
    seen = set(roots)
    stack = list(roots)
    while stack:
        for nxt in forward.get(stack.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    for name in nodes:
        spec = specs.get(name)
        if name in seen or name not in live or (spec is not None and spec.type == STICKY_NOTE):
            continue
        out.append(
            Issue(
                "unreachable_node",
                f'Node "{name}" is not connected to any trigger, so it never runs.',
                node=name,
                hint=f'Connect "{name}" to the flow after the trigger, or remove it.',
                severity="warning",
            )
        )
    return out
