"""The workflow as text, for Slack's summary and the picture's alt text: one chain per branch
(`Schedule → RSS → IF (true) → Slack`; a Slack trigger says what starts it: `Slack trigger
(reaction <emoji code> in #support) → Jira`), then the AI sub-nodes each node uses."""

from __future__ import annotations

from core.graph.engines import FlowEdge, flow_ranks
from core.graph.text import shorten
from core.graph.workflow_graph import AI_KIND_LABELS, GraphEdge, WorkflowGraph

MAX_TEXT_LINES = 25
NAME_CHARS = 80  # a node's name in the outline (Slack cuts a block's text at 3,000 characters)
MAX_LINE_CHARS = 600


def _name(name: str) -> str:
    return shorten(name, NAME_CHARS)


def _start(graph: WorkflowGraph, name: str) -> str:
    caption = graph.node(name).caption
    return _name(name) + (f" ({shorten(caption, NAME_CHARS)})" if caption else "")


def text_outline(graph: WorkflowGraph, *, max_lines: int = MAX_TEXT_LINES) -> list[str]:
    """Chains covering every main connection once, named outputs in brackets; then one line per
    node that has sub-nodes (`AI Agent uses OpenAI Chat Model (model), Wikipedia (tool)`); then
    nodes without any connection. Names longer than NAME_CHARS and lines longer than
    MAX_LINE_CHARS are shortened ("…")."""
    succs: dict[str, list[GraphEdge]] = {n.name: [] for n in graph.nodes}
    has_pred: set[str] = set()
    for e in graph.main_edges:
        succs[e.source].append(e)
        has_pred.add(e.target)
    names = [n.name for n in graph.nodes]
    rank = flow_ranks(
        names, [FlowEdge(e.source, e.target, e.output, e.input) for e in graph.main_edges]
    )
    order = sorted(names, key=rank.__getitem__)
    used: set[GraphEdge] = set()
    lines: list[str] = []
    for start in [n for n in order if n not in has_pred] + order:
        while any(e not in used for e in succs[start]):
            chain = _start(graph, start)
            node = start
            while (step := next((x for x in succs[node] if x not in used), None)) is not None:
                e = step
                used.add(e)
                label = (
                    graph.node(node).outputs[e.output]
                    if e.output < len(graph.node(node).outputs)
                    else ""
                )
                target = _name(e.target)
                chain += f" ({label}) → {target}" if label else f" → {target}"
                node = e.target
            lines.append(chain)
    for n in graph.nodes:
        subs = graph.children(n.name)
        if subs:
            kinds = {e.source: e.kind for e in graph.edges if e.is_ai and e.target == n.name}
            uses = ", ".join(
                f"{_name(s)} ({AI_KIND_LABELS.get(kinds.get(s, ''), 'sub-node')})" for s in subs
            )
            lines.append(f"{_name(n.name)} uses {uses}")
    connected = {x for e in graph.edges for x in (e.source, e.target)}
    lines.extend(_start(graph, n.name) for n in graph.nodes if n.name not in connected)
    if len(lines) > max_lines:
        lines = [*lines[:max_lines], f"… and {len(lines) - max_lines} more"]
    return [shorten(line, MAX_LINE_CHARS) for line in lines]
