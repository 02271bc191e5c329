"""Where the flow's blocks go: Graphviz `dot` (layered layout, left to right, few crossings),
or a simple longest-path layout when `dot` is not installed.

A block is a main node's box with its AI sub-nodes under it; only its size and its ports matter
here. Coordinates are pixels, y down, block positions are top-left corners.
"""

from __future__ import annotations

import json
import logging
import math
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from core.kernel.errors import ClixenError

log = logging.getLogger(__name__)

DOT_TIMEOUT_S = 20.0
INSTALL_HINT = (
    "install Graphviz (Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz)"
)
_BEZIER_STEPS = 8
_warned: set[str] = set()

Point = tuple[float, float]


class LayoutEngineFailed(ClixenError):
    """`dot` is missing or did not produce a layout; with engine "auto" the simple one is used."""

    code = "layout_engine_failed"


@dataclass(frozen=True)
class Block:
    key: str
    w: float
    h: float
    box_h: float  # the node's own box is the top `box_h` pixels of the block
    inputs: int
    outputs: int

    def in_port(self, i: int) -> float:
        """y of input `i` from the block's top."""
        return (i + 0.5) * self.box_h / max(self.inputs, 1)

    def out_port(self, i: int) -> float:
        return (i + 0.5) * self.box_h / max(self.outputs, 1)


@dataclass(frozen=True)
class FlowEdge:
    source: str
    target: str
    output: int
    input: int


@dataclass
class Placement:
    """Top-left corner of each block, and a path (tail → head) for each flow edge by index."""

    blocks: dict[str, Point] = field(default_factory=dict)
    paths: dict[int, list[Point]] = field(default_factory=dict)


def dot_available() -> bool:
    return shutil.which("dot") is not None


def place_with_dot(
    blocks: Sequence[Block], edges: Sequence[FlowEdge], *, ranksep: float, nodesep: float
) -> Placement:
    """Blocks placed by `dot -Tjson0` (raises LayoutEngineFailed when it cannot)."""
    exe = shutil.which("dot")
    if exe is None:
        raise LayoutEngineFailed(f"Graphviz `dot` is not installed: {INSTALL_HINT}")
    source = _dot_source(blocks, edges, ranksep=ranksep, nodesep=nodesep)
    try:
        done = subprocess.run(
            [exe, "-Tjson0"],
            input=source,
            capture_output=True,
            text=True,
            timeout=DOT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        raise LayoutEngineFailed(f"dot did not run: {e}") from e
    if done.returncode != 0:
        raise LayoutEngineFailed(f"dot failed: {done.stderr.strip()[:300]}")
    try:
        data = json.loads(done.stdout)
        return _placement_from_json(data, blocks)
    except (ValueError, KeyError, TypeError, IndexError) as e:
        raise LayoutEngineFailed(f"dot's output could not be read: {e}") from e


def _ports_cell(prefix: str, count: int, height: int) -> str:
    if count <= 0:
        return f'<TD FIXEDSIZE="TRUE" WIDTH="1" HEIGHT="{height}"></TD>'
    rows = []
    base, extra = divmod(height, count)
    for i in range(count):
        h = max(base + (1 if i < extra else 0), 1)
        rows.append(
            f'<TR><TD FIXEDSIZE="TRUE" WIDTH="1" HEIGHT="{h}" PORT="{prefix}{i}"></TD></TR>'
        )
    inner = "".join(rows)
    return (
        f'<TD FIXEDSIZE="TRUE" WIDTH="1" HEIGHT="{height}">'
        f'<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="0">{inner}</TABLE></TD>'
    )


def _dot_label(b: Block) -> str:
    """An invisible table the size of the block, with one port per input (west) and output
    (east) spread over the box's height, so dot orders branches as the outputs are ordered."""
    w, h, box_h = math.ceil(b.w), math.ceil(b.h), max(math.ceil(b.box_h), 1)
    table = 'BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="0"'
    row1 = (
        _ports_cell("i", b.inputs, box_h)
        + f'<TD FIXEDSIZE="TRUE" WIDTH="{max(w - 2, 1)}" HEIGHT="{box_h}"></TD>'
        + _ports_cell("o", max(b.outputs, 1), box_h)
    )
    rows = f"<TR>{row1}</TR>"
    if h - box_h > 0:
        rows += f'<TR><TD COLSPAN="3" FIXEDSIZE="TRUE" WIDTH="{w}" HEIGHT="{h - box_h}"></TD></TR>'
    return f'<<TABLE {table} FIXEDSIZE="TRUE" WIDTH="{w}" HEIGHT="{h}">{rows}</TABLE>>'


def _dot_source(
    blocks: Sequence[Block], edges: Sequence[FlowEdge], *, ranksep: float, nodesep: float
) -> str:
    ids = {b.key: f"n{i}" for i, b in enumerate(blocks)}
    lines = [
        "digraph G {",
        f"rankdir=LR; ranksep={ranksep / 72:.3f}; nodesep={nodesep / 72:.3f};",
        "splines=spline; margin=0; pad=0;",
        "node [shape=plain]; edge [dir=none];",
    ]
    for b in blocks:
        lines.append(f"{ids[b.key]} [label={_dot_label(b)}];")
    for i, e in enumerate(edges):
        lines.append(f'{ids[e.source]}:o{e.output}:e -> {ids[e.target]}:i{e.input}:w [id="e{i}"];')
    lines.append("}")
    return "\n".join(lines)


def _floats(text: str) -> Point:
    x, y = text.split(",")[:2]
    return float(x), float(y)


def _bezier(points: list[Point]) -> list[Point]:
    """A cubic B-spline as dot gives it (1 + 3n control points), sampled into a polyline."""
    out = [points[0]]
    for i in range(0, len(points) - 3, 3):
        p0, p1, p2, p3 = points[i : i + 4]
        for s in range(1, _BEZIER_STEPS + 1):
            t = s / _BEZIER_STEPS
            a, b, c, d = (1 - t) ** 3, 3 * t * (1 - t) ** 2, 3 * t * t * (1 - t), t**3
            out.append(
                (
                    a * p0[0] + b * p1[0] + c * p2[0] + d * p3[0],
                    a * p0[1] + b * p1[1] + c * p2[1] + d * p3[1],
                )
            )
    return out


def _placement_from_json(data: dict[str, Any], blocks: Sequence[Block]) -> Placement:
    top = float(str(data["bb"]).split(",")[3])  # dot's y grows upwards
    by_id = {f"n{i}": b for i, b in enumerate(blocks)}
    placement = Placement()
    for obj in data.get("objects") or []:
        b = by_id.get(str(obj.get("name")))
        if b is None or "pos" not in obj:
            continue
        cx, cy = _floats(str(obj["pos"]))
        placement.blocks[b.key] = (cx - b.w / 2, top - cy - b.h / 2)
    for edge in data.get("edges") or []:
        edge_id, pos = str(edge.get("id") or ""), edge.get("pos")
        if not edge_id.startswith("e") or not pos:
            continue
        pts = [_floats(p) for p in str(pos).split() if not p.startswith(("s,", "e,"))]
        if len(pts) >= 4:
            placement.paths[int(edge_id[1:])] = [(x, top - y) for x, y in _bezier(pts)]
    if len(placement.blocks) != len(blocks):
        raise LayoutEngineFailed("dot left nodes out")
    return placement


def back_edges(keys: Sequence[str], edges: Sequence[FlowEdge]) -> set[int]:
    """Indexes of the edges that close a cycle (found by a depth-first search from the blocks
    without predecessors, then from any block not yet seen, in workflow order)."""
    succs: dict[str, list[tuple[int, str]]] = {k: [] for k in keys}
    has_pred: set[str] = set()
    for i, e in enumerate(edges):
        succs[e.source].append((i, e.target))
        has_pred.add(e.target)
    state: dict[str, int] = {}  # 1 = on the current path, 2 = finished
    back: set[int] = set()
    for root in [k for k in keys if k not in has_pred] + list(keys):
        if root in state:
            continue
        state[root] = 1
        stack = [(root, iter(succs[root]))]
        while stack:
            node, children = stack[-1]
            step = next(children, None)
            if step is None:
                state[node] = 2
                stack.pop()
                continue
            i, nxt = step
            if state.get(nxt) == 1:
                back.add(i)
            elif nxt not in state:
                state[nxt] = 1
                stack.append((nxt, iter(succs[nxt])))
    return back


def flow_ranks(keys: Sequence[str], edges: Sequence[FlowEdge]) -> dict[str, int]:
    """Rank of each block: 0 without predecessors, else one more than its furthest predecessor,
    over the connections that do not close a cycle (so a loop never moves its start)."""
    back = back_edges(keys, edges)
    preds: dict[str, list[str]] = {k: [] for k in keys}
    for i, e in enumerate(edges):
        if i not in back:
            preds[e.target].append(e.source)
    rank: dict[str, int] = {}

    def rank_of(start: str) -> int:
        stack = [start]
        while stack:
            node = stack[-1]
            todo = [p for p in preds[node] if p not in rank]
            if todo:
                stack.extend(todo)
                continue
            stack.pop()
            rank[node] = max((rank[p] + 1 for p in preds[node]), default=0)
        return rank[start]

    for k in keys:
        if k not in rank:
            rank_of(k)
    return rank


def place_simple(
    blocks: Sequence[Block], edges: Sequence[FlowEdge], *, ranksep: float, nodesep: float
) -> Placement:
    """Longest-path columns, blocks stacked in each column in the order of their predecessors'
    outputs; edges are curves from port to port (they may cross blocks)."""
    by_key = {b.key: b for b in blocks}
    rank = flow_ranks([b.key for b in blocks], edges)
    columns: dict[int, list[str]] = {}
    for b in blocks:
        columns.setdefault(rank[b.key], []).append(b.key)
    order: dict[str, float] = {}
    x = 0.0
    placement = Placement()
    for r in sorted(columns):
        keys = sorted(
            columns[r], key=partial(_barycentre, keys=columns[r], edges=edges, order=order)
        )
        width = max(by_key[k].w for k in keys)
        y = 0.0
        for i, k in enumerate(keys):
            order[k] = float(i)
            b = by_key[k]
            placement.blocks[k] = (x + (width - b.w) / 2, y)
            y += b.h + nodesep
        x += width + ranksep
    for i, e in enumerate(edges):
        sx, sy = placement.blocks[e.source]
        tx, ty = placement.blocks[e.target]
        s = by_key[e.source]
        t = by_key[e.target]
        start = (sx + s.w, sy + s.out_port(e.output))
        end = (tx, ty + t.in_port(e.input))
        if end[0] > start[0]:
            bend = (end[0] - start[0]) / 2
            placement.paths[i] = _bezier(
                [start, (start[0] + bend, start[1]), (end[0] - bend, end[1]), end]
            )
        else:  # back to an earlier column: under both blocks, close to them
            below = max(sy + s.h, ty + t.h) + nodesep / 2
            placement.paths[i] = [
                start,
                (start[0] + 16, start[1]),
                (start[0] + 16, below),
                (end[0] - 16, below),
                (end[0] - 16, end[1]),
                end,
            ]
    return placement


def _barycentre(
    key: str, keys: list[str], edges: Sequence[FlowEdge], order: dict[str, float]
) -> float:
    """Mean position of a block's predecessors (by output), or its order in the workflow."""
    ins = [order[e.source] + e.output / 10 for e in edges if e.target == key and e.source in order]
    return sum(ins) / len(ins) if ins else float(keys.index(key))


def place(
    blocks: Sequence[Block],
    edges: Sequence[FlowEdge],
    *,
    ranksep: float,
    nodesep: float,
    engine: str = "auto",
) -> tuple[Placement, str]:
    """(placement, engine used): `dot` when available (and `engine` is "auto" or "dot"), else the
    simple layout, with a warning that says how to get the better one."""
    if engine != "simple":
        try:
            return place_with_dot(blocks, edges, ranksep=ranksep, nodesep=nodesep), "dot"
        except LayoutEngineFailed as e:
            if engine == "dot":
                raise
            # Once per process at WARNING (every picture would repeat it), then at DEBUG.
            log.log(
                logging.DEBUG if _warned else logging.WARNING,
                "workflow picture: simple layout (%s)",
                e,
            )
            _warned.add(engine)
    return place_simple(blocks, edges, ranksep=ranksep, nodesep=nodesep), "simple"
