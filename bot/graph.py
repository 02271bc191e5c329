"""A picture of a workflow's nodes and connections: a PNG for Slack, and a text fallback.

Pure functions of the n8n workflow JSON: nodes are laid out in topological columns (a node sits
one column right of its furthest predecessor), connections are drawn as arrows.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageDraw, ImageFont

BOX_W, BOX_H = 190, 54
COL_GAP, ROW_GAP, MARGIN = 70, 26, 24
MAX_TEXT_LINES = 25


@dataclass(frozen=True)
class Graph:
    nodes: list[str]  # names, in the workflow's order
    types: dict[str, str]
    edges: list[tuple[str, str]]  # (from, to), unique, in connection order


def workflow_graph(workflow: Mapping[str, Any]) -> Graph:
    """The nodes and connections of an n8n workflow JSON (connections to unknown nodes dropped)."""
    nodes: list[str] = []
    types: dict[str, str] = {}
    for node in workflow.get("nodes") or []:
        name = str(node.get("name", ""))
        if name and name not in types:
            nodes.append(name)
            types[name] = str(node.get("type", ""))
    edges: list[tuple[str, str]] = []
    for src, outputs in (workflow.get("connections") or {}).items():
        if src not in types or not isinstance(outputs, Mapping):
            continue
        for lists in outputs.values():
            for targets in lists or []:
                for target in targets or []:
                    dst = str(target.get("node", "")) if isinstance(target, Mapping) else ""
                    if dst in types and (src, dst) not in edges:
                        edges.append((src, dst))
    return Graph(nodes, types, edges)


def columns(graph: Graph) -> dict[str, int]:
    """Column of each node: 0 for nodes without predecessors, else 1 + furthest predecessor.

    Nodes on a cycle are placed after everything reachable without it (never loops forever).
    """
    preds: dict[str, list[str]] = {n: [] for n in graph.nodes}
    succs: dict[str, list[str]] = {n: [] for n in graph.nodes}
    for a, b in graph.edges:
        preds[b].append(a)
        succs[a].append(b)
    indegree = {n: len(preds[n]) for n in graph.nodes}
    col = dict.fromkeys(graph.nodes, 0)
    ready = [n for n in graph.nodes if indegree[n] == 0]
    done: set[str] = set()
    while ready or len(done) < len(graph.nodes):
        if not ready:  # a cycle: break it at the first unplaced node in workflow order
            stuck = next(n for n in graph.nodes if n not in done)
            col[stuck] = max([col[p] + 1 for p in preds[stuck] if p in done] or [0])
            ready.append(stuck)
            indegree[stuck] = 0
        node = ready.pop(0)
        if node in done:
            continue
        done.add(node)
        for nxt in succs[node]:
            if nxt in done:
                continue
            col[nxt] = max(col[nxt], col[node] + 1)
            indegree[nxt] -= 1
            if indegree[nxt] <= 0:
                ready.append(nxt)
    return col


def text_outline(graph: Graph) -> list[str]:
    """Chains like `A → B → C`, one per branch, covering every connection once.

    Nodes without any connection are listed on their own line.
    """
    succs: dict[str, list[str]] = {n: [] for n in graph.nodes}
    has_pred = set()
    for a, b in graph.edges:
        succs[a].append(b)
        has_pred.add(b)
    used: set[tuple[str, str]] = set()
    lines: list[str] = []
    order = sorted(graph.nodes, key=columns(graph).__getitem__)
    starts = [n for n in order if n not in has_pred] + order
    for start in starts:
        while any((start, s) not in used for s in succs[start]):
            chain = [start]
            node = start
            while True:
                nxt = next((s for s in succs[node] if (node, s) not in used), None)
                if nxt is None:
                    break
                used.add((node, nxt))
                chain.append(nxt)
                node = nxt
            lines.append(" → ".join(chain))
    connected = {n for e in graph.edges for n in e}
    lines.extend(n for n in graph.nodes if n not in connected)
    if len(lines) > MAX_TEXT_LINES:
        lines = [*lines[:MAX_TEXT_LINES], f"… and {len(lines) - MAX_TEXT_LINES} more"]
    return lines


def _short_type(node_type: str) -> str:
    return node_type.rsplit(".", 1)[-1]


def _fit(draw: ImageDraw.ImageDraw, text: str, font: Any, width: int) -> str:
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text + "…"


def render_png(graph: Graph) -> bytes:
    """A PNG picture of the graph: one box per node (name and type), arrows for connections."""
    col = columns(graph)
    rows: dict[int, int] = {}
    pos: dict[str, tuple[int, int]] = {}
    for name in graph.nodes:
        c = col[name]
        r = rows.get(c, 0)
        rows[c] = r + 1
        pos[name] = (MARGIN + c * (BOX_W + COL_GAP), MARGIN + r * (BOX_H + ROW_GAP))
    ncols = max(col.values(), default=0) + 1
    nrows = max(rows.values(), default=1)
    width = 2 * MARGIN + ncols * BOX_W + (ncols - 1) * COL_GAP
    height = 2 * MARGIN + nrows * BOX_H + (nrows - 1) * ROW_GAP
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=14)
    small = ImageFont.load_default(size=11)
    for a, b in graph.edges:
        ax, ay = pos[a]
        bx, by = pos[b]
        start = (ax + BOX_W, ay + BOX_H // 2)
        end = (bx, by + BOX_H // 2)
        draw.line([start, end], fill="#555555", width=2)
        ex, ey = end
        draw.polygon([(ex, ey), (ex - 9, ey - 5), (ex - 9, ey + 5)], fill="#555555")
    for name in graph.nodes:
        x, y = pos[name]
        draw.rounded_rectangle(
            [x, y, x + BOX_W, y + BOX_H], radius=8, fill="#eef3fb", outline="#3b6fb6", width=2
        )
        draw.text((x + 10, y + 9), _fit(draw, name, font, BOX_W - 20), fill="black", font=font)
        kind = _fit(draw, _short_type(graph.types[name]), small, BOX_W - 20)
        draw.text((x + 10, y + 31), kind, fill="#555555", font=small)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()
