"""The layout of a workflow picture, as data: where each node's box is, each connection's path,
each output's label, how the flow was folded to fit the width.

Main nodes flow left to right (placed by `core.graph.engines`); an AI sub-node sits under the node
it serves; a flow wider than `max_width` is folded into bands stacked top to bottom, like lines
of text, and the connections that cross a fold run through the gap between bands
(`core.graph.paths`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core.graph.engines import Block, FlowEdge, Placement, Point, place
from core.graph.geometry import (
    BAND_GAP,
    CAPTION_SIZE,
    FOLD_LANES,
    LABEL_SIZE,
    LEGEND_H,
    MARGIN,
    MAX_NODES,
    MAX_SHARED_LINKS,
    MAX_WIDTH,
    MESSAGE_LINES,
    MESSAGE_SIZE,
    NODESEP,
    NORMAL,
    OVERVIEW,
    OVERVIEW_NODES,
    PAD,
    PORT_SPACING,
    RANKSEP,
    SUB_GAP,
    SUB_GAP_X,
    SUB_GAP_Y,
    SUBS_PER_ROW,
    TITLE_SIZE,
    Box,
    Folded,
    Layout,
    PictureTooLarge,
    PlacedEdge,
    PlacedNode,
    Style,
)
from core.graph.marks import Marks
from core.graph.paths import ai_paths, flow_paths, output_labels
from core.graph.text import font, shorten, text_width, wrap
from core.graph.workflow_graph import (
    AI_KIND_LABELS,
    GraphEdge,
    GraphNode,
    WorkflowGraph,
    short_type,
    workflow_graph,
)

# Characters of a node's name measured and drawn: more than its box shows (5 lines of ~20).
NAME_CHARS = 160
KIND_CHARS = 40


@dataclass
class _Measured:
    w: float
    h: float
    lines: list[str]
    type_label: str
    message: list[str]


def _measure(
    name: str,
    node_type: str,
    style: Style,
    *,
    sub: bool,
    message: str,
    ports: int,
    caption: str = "",
) -> _Measured:
    w = style.sub_w if sub else style.node_w
    size = style.sub_name_size if sub else style.name_size
    inner = w - 2 * PAD - 4
    lines = wrap(shorten(name, NAME_CHARS), font(size, bold=not sub), inner, style.name_lines)
    h = PAD + len(lines) * (size + 4)
    # A Slack trigger says what starts it ("reaction :ticket: in #support") where others
    # show their type.
    type_label = (caption or short_type(node_type)) if style.show_type else ""
    if type_label:
        type_label = wrap(type_label, font(style.type_size), inner, 1)[0]
        h += 3 + style.type_size + 2
    message_lines = wrap(message, font(MESSAGE_SIZE), inner, MESSAGE_LINES) if message else []
    h += len(message_lines) * (MESSAGE_SIZE + 3) + (4 if message_lines else 0)
    height = max(h + PAD, 40.0, ports * PORT_SPACING + 6.0 if ports > 1 else 0.0)
    return _Measured(w=w, h=height, lines=lines, type_label=type_label, message=message_lines)


@dataclass
class _Tree:
    """A node with its sub-node tree under it: size, and offsets of every box from the top-left."""

    w: float
    h: float
    box_h: float
    offsets: dict[str, Point]


def _row_width(row: list[_Tree]) -> float:
    return sum(k.w for k in row) + SUB_GAP_X * (len(row) - 1)


def _tree(name: str, graph: WorkflowGraph, sizes: dict[str, _Measured], limit: float) -> _Tree:
    """`name`'s box centred on top, its sub-nodes' trees in rows under it: at most
    `SUBS_PER_ROW` per row, and no row wider than `limit` unless one tree alone is."""
    me = sizes[name]
    kids = [_tree(c, graph, sizes, limit) for c in graph.children(name)]
    rows: list[list[_Tree]] = []
    for k in kids:
        row = rows[-1] if rows else None
        if row is None or len(row) == SUBS_PER_ROW or _row_width(row) + SUB_GAP_X + k.w > limit:
            rows.append([k])
        else:
            row.append(k)
    row_w = [_row_width(row) for row in rows]
    w = max([me.w, *row_w])
    offsets: dict[str, Point] = {name: ((w - me.w) / 2, 0.0)}
    y = me.h + SUB_GAP
    for row, rw in zip(rows, row_w, strict=True):
        x = (w - rw) / 2
        for k in row:
            for n, (ox, oy) in k.offsets.items():
                offsets[n] = (x + ox, y + oy)
            x += k.w + SUB_GAP_X
        y += max(k.h for k in row) + SUB_GAP_Y
    h = y - SUB_GAP_Y if rows else me.h
    return _Tree(w=w, h=h, box_h=me.h, offsets=offsets)


def layout_workflow(
    workflow: Mapping[str, Any],
    *,
    marks: Marks | None = None,
    title: str | None = None,
    max_width: int = MAX_WIDTH,
    engine: str = "auto",
) -> Layout:
    """The picture's layout for an n8n workflow JSON (sticky notes left out), with `marks` drawn
    on the nodes. `engine`: "auto" (Graphviz `dot` when installed), "dot" or "simple".
    PictureTooLarge beyond MAX_NODES nodes (the deploy gate keeps stored workflows far below)."""
    _refuse_too_many_nodes(workflow)
    graph = workflow_graph(workflow)
    marks = marks or Marks()
    style = OVERVIEW if len(graph.nodes) > OVERVIEW_NODES else NORMAL
    sizes = _measure_nodes(graph, style, marks)
    mains = [n for n in graph.nodes if n.name not in graph.parent]
    limit = max_width - 2 * MARGIN - FOLD_LANES
    trees = {n.name: _tree(n.name, graph, sizes, limit) for n in mains}
    blocks = _main_blocks(mains, trees)
    main_names = {n.name for n in mains}
    flow = [e for e in graph.main_edges if e.source in main_names and e.target in main_names]
    linked = {x for e in flow for x in (e.source, e.target)}
    connected = [b for b in blocks if b.key in linked]
    placement, used = place(
        connected,
        [FlowEdge(e.source, e.target, e.output, e.input) for e in flow],
        ranksep=_rank_gap(mains),
        nodesep=NODESEP,
        engine=engine,
    )

    # Room on the right for the connections that leave a band (see flow_paths).
    folded = _fold(connected, flow, placement, max_width=limit)
    _grid([b for b in blocks if b.key not in linked], folded, max_width=max_width - 2 * MARGIN)
    title_lines, caption_lines, top = _header(workflow, title, marks, max_width)
    nodes = _placed_nodes(mains, trees, sizes, graph, folded, marks, dy=top)
    edges = flow_paths(flow, folded, nodes, graph, dx=MARGIN, dy=top)
    edges += ai_paths(graph, nodes)
    width, height = _canvas_size(
        nodes,
        edges,
        top=top,
        header_width=_header_width(title_lines, caption_lines),
        max_width=max_width,
    )
    return Layout(
        width=width,
        height=height,
        nodes=nodes,
        edges=edges,
        labels=output_labels(mains, nodes, graph),
        engine=used,
        style=style,
        overview=style is OVERVIEW,
        bands=folded.bands,
        title=tuple(title_lines),
        caption=tuple(caption_lines),
        marks=marks,
    )


def _canvas_size(
    nodes: dict[str, PlacedNode],
    edges: list[PlacedEdge],
    *,
    top: float,
    header_width: float,
    max_width: int,
) -> tuple[int, int]:
    """Width and height of the picture: room for every box and line, the header and the legend."""
    right = max(
        [n.box.right for n in nodes.values()] + [p[0] for e in edges for p in e.points] + [0.0]
    )
    bottom = max(
        [n.box.bottom for n in nodes.values()] + [p[1] for e in edges for p in e.points] + [top]
    )
    # The header wraps to max_width; the flow fits it unless one rank alone is wider.
    width = int(max(right + MARGIN, min(header_width, max_width)))
    height = int(bottom + MARGIN + LEGEND_H)
    return max(width, 240), max(height, 120)


def _refuse_too_many_nodes(workflow: Mapping[str, Any]) -> None:
    raw_nodes = workflow.get("nodes")
    if isinstance(raw_nodes, list) and len(raw_nodes) > MAX_NODES:
        raise PictureTooLarge(
            f"The workflow has {len(raw_nodes)} nodes; pictures are drawn up to {MAX_NODES} "
            "(the most a Clixen workflow may have): the text outline shows it."
        )


def _measure_nodes(graph: WorkflowGraph, style: Style, marks: Marks) -> dict[str, _Measured]:
    return {
        n.name: _measure(
            n.name,
            n.type,
            style,
            sub=n.name in graph.parent,
            message=marks.messages.get(n.name, ""),
            ports=max(len(n.outputs), n.inputs),
            caption=n.caption,
        )
        for n in graph.nodes
    }


def _main_blocks(mains: list[GraphNode], trees: dict[str, _Tree]) -> list[Block]:
    """One block per main node, as big as the node with its sub-node tree."""
    return [
        Block(
            key=n.name,
            w=trees[n.name].w,
            h=trees[n.name].h,
            box_h=trees[n.name].box_h,
            inputs=n.inputs,
            outputs=max(len(n.outputs), 1),
        )
        for n in mains
    ]


def _rank_gap(mains: list[GraphNode]) -> float:
    """The gap between ranks: wide enough for the widest output label, within bounds."""
    label_font = font(LABEL_SIZE)
    widest = max((text_width(o, label_font) for n in mains for o in n.outputs), default=0.0)
    return min(max(RANKSEP, widest + 30), 150.0)


def _placed_nodes(
    mains: list[GraphNode],
    trees: dict[str, _Tree],
    sizes: dict[str, _Measured],
    graph: WorkflowGraph,
    folded: Folded,
    marks: Marks,
    *,
    dy: float,
) -> dict[str, PlacedNode]:
    """Every node's box in the picture: each main node where folding put it, its sub-nodes at
    their offsets under it."""
    nodes: dict[str, PlacedNode] = {}
    for n in mains:
        bx, by = folded.blocks[n.name]
        for name, (ox, oy) in trees[n.name].offsets.items():
            m = sizes[name]
            g = graph.node(name)
            parent = graph.parent.get(name)
            nodes[name] = PlacedNode(
                name=name,
                type=g.type,
                family=g.family,
                box=Box(MARGIN + bx + ox, dy + by + oy, m.w, m.h),
                lines=tuple(m.lines),
                type_label=m.type_label,
                message=tuple(m.message),
                mark=marks.of(name),
                rank=folded.ranks[n.name] if name == n.name else None,
                band=folded.band_of[n.name],
                parent=parent,
                kind=_sub_node_kind(graph, name, parent) if parent is not None else "",
                sub=parent is not None,
            )
    return nodes


def _sub_node_kind(graph: WorkflowGraph, name: str, parent: str) -> str:
    """What the sub-node is to the node it serves ("Model", "Tool"), and how many it serves
    when too many to draw each link."""
    kind = next(
        (
            AI_KIND_LABELS.get(e.kind, shorten(e.kind, KIND_CHARS))
            for e in graph.edges
            if e.source == name and e.target == parent
        ),
        "",
    )
    served = len({e.target for e in graph.edges if e.is_ai and e.source == name})
    if served > MAX_SHARED_LINKS:
        kind += f" · shared by {served} nodes"
    return kind


def _header(
    workflow: Mapping[str, Any], title: str | None, marks: Marks, max_width: int
) -> tuple[list[str], list[str], float]:
    text = title if title is not None else str(workflow.get("name") or "")
    inner = max_width - 2 * MARGIN
    title_lines = wrap(text, font(TITLE_SIZE, bold=True), inner, 2) if text else []
    caption_lines = wrap(marks.caption, font(CAPTION_SIZE), inner, 2) if marks.caption else []
    top = MARGIN + len(title_lines) * (TITLE_SIZE + 6) + len(caption_lines) * (CAPTION_SIZE + 5)
    return title_lines, caption_lines, top + (16 if title_lines or caption_lines else 0)


def _header_width(title: list[str], caption: list[str]) -> float:
    widths = [text_width(t, font(TITLE_SIZE, bold=True)) for t in title]
    widths += [text_width(c, font(CAPTION_SIZE)) for c in caption]
    return max(widths, default=0.0) + 2 * MARGIN


def _fold(
    blocks: list[Block], flow: list[GraphEdge], placement: Placement, *, max_width: float
) -> Folded:
    """Cut the flow between ranks into bands no wider than `max_width`, stacked top to bottom."""
    if not blocks:
        return Folded({}, {}, {}, {}, [], {}, 0, 0.0)
    pos = placement.blocks
    ranks = _ranks(blocks, pos)
    span = _rank_spans(blocks, pos, ranks)
    band_of_rank, band_left = _bands(span, max_width)
    band_of = {k: band_of_rank[r] for k, r in ranks.items()}
    inside = {
        i: path
        for i, path in placement.paths.items()
        if band_of[flow[i].source] == band_of[flow[i].target]
    }
    lo_y, hi_y, left_x = _band_extents(blocks, pos, flow, inside, band_of, band_left)
    band_top: list[float] = []
    y = 0.0
    for band in range(len(band_left)):
        band_top.append(y)
        y += hi_y[band] - lo_y[band] + BAND_GAP
    shift = [(-left_x[band], band_top[band] - lo_y[band]) for band in range(len(band_left))]
    blocks_out = {
        k: (x + shift[band_of[k]][0], yy + shift[band_of[k]][1]) for k, (x, yy) in pos.items()
    }
    paths = {
        i: [
            (x + shift[band_of[flow[i].source]][0], yy + shift[band_of[flow[i].source]][1])
            for x, yy in path
        ]
        for i, path in inside.items()
    }
    rank_span = {
        r: (lo + shift[band_of_rank[r]][0], hi + shift[band_of_rank[r]][0])
        for r, (lo, hi) in span.items()
    }
    return Folded(
        blocks_out, paths, ranks, band_of, band_top, rank_span, len(band_left), y - BAND_GAP
    )


def _ranks(blocks: list[Block], pos: dict[str, Point]) -> dict[str, int]:
    """Each block's rank, counted left to right: blocks of one rank share their centre x (dot
    and the simple layout both centre them)."""
    centres = sorted({round(pos[b.key][0] + b.w / 2) for b in blocks})
    rank_of_centre: dict[int, int] = {}
    for c in centres:
        prev = rank_of_centre.get(c - 1, rank_of_centre.get(c + 1))
        rank_of_centre[c] = prev if prev is not None else len(set(rank_of_centre.values()))
    return {b.key: rank_of_centre[round(pos[b.key][0] + b.w / 2)] for b in blocks}


def _rank_spans(
    blocks: list[Block], pos: dict[str, Point], ranks: dict[str, int]
) -> dict[int, tuple[float, float]]:
    """Rank → (left, right) of its blocks before folding."""
    span: dict[int, tuple[float, float]] = {}
    for b in blocks:
        r, left = ranks[b.key], pos[b.key][0]
        lo, hi = span.get(r, (left, left + b.w))
        span[r] = (min(lo, left), max(hi, left + b.w))
    return span


def _bands(
    span: dict[int, tuple[float, float]], max_width: float
) -> tuple[dict[int, int], list[float]]:
    """Rank → band, and each band's left x: a new band starts at the first rank that would
    make the current one wider than `max_width`."""
    band_of_rank: dict[int, int] = {}
    band_left: list[float] = []
    for r in sorted(span):
        lo, hi = span[r]
        if not band_left or hi - band_left[-1] > max_width:
            band_left.append(lo)
        band_of_rank[r] = len(band_left) - 1
    return band_of_rank, band_left


def _band_extents(
    blocks: list[Block],
    pos: dict[str, Point],
    flow: list[GraphEdge],
    inside: dict[int, list[Point]],
    band_of: dict[str, int],
    band_left: list[float],
) -> tuple[list[float], list[float], list[float]]:
    """Each band's top, bottom and left before folding: its blocks and the paths that stay
    inside it."""
    size = {b.key: b for b in blocks}
    n_bands = len(band_left)
    lo_y = [float("inf")] * n_bands
    hi_y = [float("-inf")] * n_bands
    for k, (_, y) in pos.items():
        band = band_of[k]
        lo_y[band] = min(lo_y[band], y)
        hi_y[band] = max(hi_y[band], y + size[k].h)
    for i, path in inside.items():
        band = band_of[flow[i].source]
        lo_y[band] = min([lo_y[band], *(p[1] for p in path)])
        hi_y[band] = max([hi_y[band], *(p[1] for p in path)])
    left_x = [
        min(
            [
                band_left[b],
                *(p[0] for i, path in inside.items() if band_of[flow[i].source] == b for p in path),
            ]
        )
        for b in range(n_bands)
    ]
    return lo_y, hi_y, left_x


def _grid(blocks: list[Block], folded: Folded, *, max_width: float) -> None:
    """Nodes without any connection, in rows under the flow (a column of them is unreadable)."""
    if not blocks:
        return
    band = folded.bands
    y = folded.bottom + BAND_GAP if folded.bands else 0.0
    folded.band_top.append(y)
    x, row_h = 0.0, 0.0
    for b in blocks:
        if x > 0 and x + b.w > max_width:
            x, y, row_h = 0.0, y + row_h + NODESEP, 0.0
        folded.blocks[b.key] = (x, y)
        folded.ranks[b.key] = 0
        folded.band_of[b.key] = band
        x += b.w + NODESEP
        row_h = max(row_h, b.h)
    folded.bands = band + 1
    folded.bottom = y + row_h
