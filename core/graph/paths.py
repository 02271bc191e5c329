"""The lines of a picture: flow connections between placed boxes (also across folds), the dashed
links of AI sub-nodes, and the labels of IF/Switch outputs."""

from __future__ import annotations

import itertools
from typing import Any

from core.graph.engines import Point
from core.graph.geometry import (
    BAND_GAP,
    LABEL_SIZE,
    LANE,
    MAX_SHARED_LINKS,
    RANKSEP,
    SUB_GAP,
    SUB_GAP_X,
    SUB_GAP_Y,
    Box,
    Folded,
    OutputLabel,
    PlacedEdge,
    PlacedNode,
)
from core.graph.workflow_graph import (
    AI_KIND_ORDER,
    GraphEdge,
    WorkflowGraph,
)


def _port_y(box: Box, index: int, count: int) -> float:
    return box.y + (index + 0.5) * box.h / max(count, 1)


def flow_paths(
    flow: list[GraphEdge],
    folded: Folded,
    nodes: dict[str, PlacedNode],
    graph: WorkflowGraph,
    *,
    dx: float,
    dy: float,
) -> list[PlacedEdge]:
    """The flow's connections, port to port: inside a band along the path the engine drew,
    across a fold through the gaps; then the main connections that touch a sub-node."""
    out: list[PlacedEdge] = []
    lane = 0
    for i, e in enumerate(flow):
        s, t = nodes[e.source].box, nodes[e.target].box
        start = (s.right, _port_y(s, e.output, len(graph.node(e.source).outputs)))
        end = (t.x, _port_y(t, e.input, graph.node(e.target).inputs))
        path = folded.paths.get(i)
        if path is not None:
            middle = [(x + dx, y + dy) for x, y in path]
            points = [start, *middle, end]
            folded_edge = False
        else:
            points = _across_fold(e, folded, start, end, lane=lane, dx=dx, dy=dy)
            lane += 1
            folded_edge = True
        out.append(
            PlacedEdge(
                e.source, e.target, e.kind, e.output, e.input, tuple(points), False, folded_edge
            )
        )
    # Main connections that touch a sub-node: a straight line, port to port.
    for e in graph.main_edges:
        if e.source in graph.parent or e.target in graph.parent:
            s, t = nodes[e.source].box, nodes[e.target].box
            start = (s.right, _port_y(s, e.output, len(graph.node(e.source).outputs)))
            end = (t.x, _port_y(t, e.input, max(graph.node(e.target).inputs, 1)))
            out.append(
                PlacedEdge(
                    e.source, e.target, e.kind, e.output, e.input, (start, end), False, False
                )
            )
    return out


def _across_fold(
    e: GraphEdge, folded: Folded, start: Point, end: Point, *, lane: int, dx: float, dy: float
) -> list[Point]:
    """Across a fold: right into the gap after the source's rank, along the gap above the
    target's band, down the gap before the target's rank (`lane` keeps parallel lines apart)."""
    src_rank = folded.ranks[e.source]
    dst_rank = folded.ranks[e.target]
    out_x = folded.rank_span[src_rank][1] + dx + RANKSEP / 3 + (lane % 4) * LANE
    in_x = max(folded.rank_span[dst_rank][0] + dx - 14 - (lane % 4) * LANE, 6.0)
    gutter = (
        folded.band_top[folded.band_of[e.target]]
        + dy
        - BAND_GAP / 2
        + (lane % 4) * LANE
        - LANE * 1.5
    )
    return [start, (out_x, start[1]), (out_x, gutter), (in_x, gutter), (in_x, end[1]), end]


def _kinds_under(graph: WorkflowGraph, name: str) -> list[str]:
    children = set(graph.children(name))
    kinds = {e.kind for e in graph.edges if e.is_ai and e.target == name and e.source in children}
    return sorted(kinds, key=lambda k: (AI_KIND_ORDER.index(k) if k in AI_KIND_ORDER else 99, k))


def ai_paths(graph: WorkflowGraph, nodes: dict[str, PlacedNode]) -> list[PlacedEdge]:
    """Dashed links from each sub-node up to the node it serves (n8n's AI connections); a
    sub-node in a second row goes up through a gap of the row above it."""
    out: list[PlacedEdge] = []
    served: dict[str, int] = {}
    for e in graph.edges:
        if e.is_ai:
            served[e.source] = served.get(e.source, 0) + 1
    for e in graph.edges:
        if not e.is_ai:
            continue
        s, t = nodes[e.source].box, nodes[e.target].box
        if graph.parent.get(e.source) != e.target:
            if served[e.source] > MAX_SHARED_LINKS:
                continue  # its label says how many it serves; the lines would hide the flow
            points: tuple[Point, ...] = ((s.cx, s.y), (t.cx, t.bottom))
        else:
            # One handle per kind of sub-node on the served node's bottom, as n8n draws them.
            kinds = _kinds_under(graph, e.target)
            tx = t.x + (kinds.index(e.kind) + 0.5) * t.w / len(kinds)
            mid = t.bottom + SUB_GAP * 0.45
            above = sorted(
                (n.box for n in nodes.values() if n.parent == e.target and n.box.bottom < s.y),
                key=lambda b: b.x,
            )
            if not above:
                points = ((s.cx, s.y), (s.cx, mid), (tx, mid), (tx, t.bottom))
            else:
                lanes = [above[0].x - SUB_GAP_X / 2, above[-1].right + SUB_GAP_X / 2]
                lanes += [(a.right + b.x) / 2 for a, b in itertools.pairwise(above)]
                lane = min(lanes, key=lambda x: abs(x - s.cx))
                turn = s.y - SUB_GAP_Y / 2
                points = (
                    (s.cx, s.y),
                    (s.cx, turn),
                    (lane, turn),
                    (lane, mid),
                    (tx, mid),
                    (tx, t.bottom),
                )
        out.append(PlacedEdge(e.source, e.target, e.kind, e.output, e.input, points, True, False))
    return out


def output_labels(
    mains: list[Any], nodes: dict[str, PlacedNode], graph: WorkflowGraph
) -> list[OutputLabel]:
    """A label right of each named output (IF true/false, Switch rules, …)."""
    out: list[OutputLabel] = []
    for n in mains:
        if n.outputs == ("",):
            continue
        box = nodes[n.name].box
        used = {e.output for e in graph.main_edges if e.source == n.name}
        for i, text in enumerate(n.outputs):
            if text and (i in used or len(n.outputs) > 1):
                y = _port_y(box, i, len(n.outputs))
                out.append(OutputLabel(n.name, i, text, box.right + 6, y - LABEL_SIZE + 1))
    return out
