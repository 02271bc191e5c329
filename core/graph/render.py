"""Drawing a `Layout` as a PNG with Pillow: boxes coloured by family, connections with arrows
(AI links dashed), output labels, status marks and a legend."""

from __future__ import annotations

import io
import itertools
import math
from collections.abc import Sequence

from PIL import Image, ImageDraw

from core.graph.engines import Point
from core.graph.geometry import (
    CAPTION_SIZE,
    LABEL_SIZE,
    LEGEND_H,
    MARGIN,
    MAX_PIXELS,
    MESSAGE_SIZE,
    PAD,
    TITLE_SIZE,
    Layout,
    PictureTooLarge,
    PlacedEdge,
    PlacedNode,
)
from core.graph.marks import NodeMark
from core.graph.text import font
from core.graph.workflow_graph import Family
from core.kernel.metrics import PICTURE_SECONDS, PICTURES

BACKGROUND = "#eef0f3"
FAMILY_COLOURS = {
    Family.trigger: "#e8590c",
    Family.ai: "#7048e8",
    Family.logic: "#2f9e44",
    Family.data: "#1971c2",
    Family.app: "#495057",
}
MARK_COLOURS = {
    NodeMark.ran: "#2f9e44",
    NodeMark.failed: "#e03131",
    NodeMark.not_reached: "#adb5bd",
    NodeMark.added: "#2f9e44",
    NodeMark.removed: "#e03131",
    NodeMark.changed: "#f08c00",
}
EDGE = "#868e96"
EDGE_RAN = "#2f9e44"
EDGE_FADED = "#ced4da"
AI_EDGE = "#9775fa"
BORDER = "#ced4da"
TEXT = "#212529"
MUTED = "#6c757d"
FADED_FILL = "#f1f3f5"
STRIP = 6


def render_png(layout: Layout) -> bytes:
    """The PNG bytes of `layout`; PictureTooLarge when it has more than `MAX_PIXELS` pixels."""
    if layout.width * layout.height > MAX_PIXELS:
        raise PictureTooLarge(
            f"The workflow picture would be {layout.width}×{layout.height} px, more than the "
            f"{MAX_PIXELS // 1_000_000} million pixels a picture may have: use the text outline "
            "(`clixen graph` prints it), or split the workflow."
        )
    with PICTURE_SECONDS.time():
        png = _draw(layout)
    PICTURES.inc()
    return png


def _draw(layout: Layout) -> bytes:
    image = Image.new("RGB", (layout.width, layout.height), BACKGROUND)
    draw = ImageDraw.Draw(image)
    _header(draw, layout)
    for edge in layout.edges:
        _edge(draw, layout, edge)
    for label in layout.labels:
        f = font(LABEL_SIZE)
        w = f.getlength(label.text)
        top = label.y - LABEL_SIZE / 2 - 1
        draw.rectangle([label.x - 2, top, label.x + w + 2, top + LABEL_SIZE + 3], fill=BACKGROUND)
        draw.text((label.x, top), label.text, fill=MUTED, font=f)
    for node in layout.nodes.values():
        _node(draw, layout, node)
    _legend(draw, layout)
    # A palette of 96 colours keeps the anti-aliased text and makes the PNG a third of the size
    # and faster to encode (benchmarks/graph_render.py).
    palette = image.quantize(colors=96, method=Image.Quantize.FASTOCTREE)
    out = io.BytesIO()
    palette.save(out, format="PNG")
    return out.getvalue()


def _header(draw: ImageDraw.ImageDraw, layout: Layout) -> None:
    y = float(MARGIN)
    for line in layout.title:
        draw.text((MARGIN, y), line, fill=TEXT, font=font(TITLE_SIZE, bold=True))
        y += TITLE_SIZE + 6
    failed = any(m == NodeMark.failed for m in layout.marks.nodes.values())
    for line in layout.caption:
        colour = MARK_COLOURS[NodeMark.failed] if failed else MUTED
        draw.text((MARGIN, y), line, fill=colour, font=font(CAPTION_SIZE))
        y += CAPTION_SIZE + 5


def _edge_colour(layout: Layout, edge: PlacedEdge) -> str:
    marks = [layout.marks.of(edge.source), layout.marks.of(edge.target)]
    if NodeMark.removed in marks:
        return MARK_COLOURS[NodeMark.removed]
    if NodeMark.not_reached in marks:
        return EDGE_FADED
    if marks[0] == NodeMark.ran and marks[1] in (NodeMark.ran, NodeMark.failed):
        return EDGE_RAN
    return AI_EDGE if edge.dashed else EDGE


def _edge(draw: ImageDraw.ImageDraw, layout: Layout, edge: PlacedEdge) -> None:
    colour = _edge_colour(layout, edge)
    points = list(edge.points)
    removed = NodeMark.removed in (layout.marks.of(edge.source), layout.marks.of(edge.target))
    if edge.dashed or removed:
        _dashed(draw, points, colour)
    else:
        draw.line(points, fill=colour, width=2, joint="curve")
    if not edge.dashed:
        _arrow(draw, points, colour)


def _dashed(draw: ImageDraw.ImageDraw, points: Sequence[Point], colour: str) -> None:
    dash, gap = 7.0, 5.0
    carry = 0.0  # how far into the current dash+gap period the next segment starts
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        length = math.hypot(x1 - x0, y1 - y0)
        if length == 0:
            continue
        ux, uy = (x1 - x0) / length, (y1 - y0) / length
        pos = 0.0
        while pos < length:
            phase = (carry + pos) % (dash + gap)
            if phase < dash:
                run = min(dash - phase, length - pos)
                a = (x0 + ux * pos, y0 + uy * pos)
                b = (x0 + ux * (pos + run), y0 + uy * (pos + run))
                draw.line([a, b], fill=colour, width=2)
            else:
                run = min(dash + gap - phase, length - pos)
            pos += run
        carry = (carry + length) % (dash + gap)


def _arrow(draw: ImageDraw.ImageDraw, points: Sequence[Point], colour: str) -> None:
    ex, ey = points[-1]
    for px, py in reversed(points[:-1]):
        if math.hypot(ex - px, ey - py) > 2:
            break
    else:
        return
    angle = math.atan2(ey - py, ex - px)
    size, spread = 10.0, 0.45
    left = (ex - size * math.cos(angle - spread), ey - size * math.sin(angle - spread))
    right = (ex - size * math.cos(angle + spread), ey - size * math.sin(angle + spread))
    draw.polygon([(ex, ey), left, right], fill=colour)


def _node(draw: ImageDraw.ImageDraw, layout: Layout, node: PlacedNode) -> None:
    b = node.box
    style = layout.style
    faded = node.mark in (NodeMark.not_reached, NodeMark.removed)
    family = FAMILY_COLOURS[node.family]
    border = MARK_COLOURS[node.mark] if node.mark else BORDER
    width = 3 if node.mark and not faded else 2
    radius = int(min(b.h / 2, 22)) if node.sub else 8  # n8n draws sub-nodes round
    fill = FADED_FILL if faded else "white"
    draw.rounded_rectangle([b.x, b.y, b.right, b.bottom], radius=radius, fill=fill)
    strip = [b.x + 1, b.y + 1, b.x + STRIP, b.bottom - 1]
    if not node.sub:
        draw.rounded_rectangle(strip, radius=3, fill=BORDER if faded else family)
    if node.mark == NodeMark.removed:
        corners = [(b.x, b.y), (b.right, b.y), (b.right, b.bottom), (b.x, b.bottom), (b.x, b.y)]
        _dashed(draw, corners, border)
    else:
        draw.rounded_rectangle(
            [b.x, b.y, b.right, b.bottom], radius=radius, outline=border, width=width
        )
    x = b.x + PAD + (STRIP if not node.sub else 4)
    y = b.y + PAD
    size = style.sub_name_size if node.sub else style.name_size
    name_font = font(size, bold=not node.sub)
    text_colour = MUTED if faded else TEXT
    for line in node.lines:
        draw.text((x, y), line, fill=text_colour, font=name_font)
        y += size + 4
    if node.type_label:
        y += 3
        draw.text(
            (x, y), node.type_label, fill=MUTED if faded else family, font=font(style.type_size)
        )
        y += style.type_size + 2
    if node.message:
        y += 4
        for line in node.message:
            draw.text((x, y), line, fill=MARK_COLOURS[NodeMark.failed], font=font(MESSAGE_SIZE))
            y += MESSAGE_SIZE + 3
    if node.kind:
        draw.text((b.x + 2, b.y - LABEL_SIZE - 5), node.kind, fill=MUTED, font=font(LABEL_SIZE))
    if node.mark:
        _badge(draw, node)


def _badge(draw: ImageDraw.ImageDraw, node: PlacedNode) -> None:
    """A round mark on the box's top-right corner: ✓ ran, ✗ failed; a word for diff marks."""
    b, mark = node.box, node.mark
    assert mark is not None
    colour = MARK_COLOURS[mark]
    if mark in (NodeMark.ran, NodeMark.failed):
        cx, cy, r = b.right - 14, b.y, 10  # clear of the output labels at the right edge
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=colour, outline="white", width=2)
        if mark == NodeMark.ran:
            draw.line([(cx - 5, cy), (cx - 1, cy + 4), (cx + 5, cy - 4)], fill="white", width=3)
        else:
            draw.line([(cx - 4, cy - 4), (cx + 4, cy + 4)], fill="white", width=3)
            draw.line([(cx - 4, cy + 4), (cx + 4, cy - 4)], fill="white", width=3)
        return
    if mark == NodeMark.not_reached:
        return
    f = font(10, bold=True)
    text = str(mark.value)
    w = f.getlength(text) + 10
    x1, y0 = b.right - 6, b.y - 8
    draw.rounded_rectangle([x1 - w, y0, x1, y0 + 16], radius=8, fill=colour)
    draw.text((x1 - w + 5, y0 + 2), text, fill="white", font=f)


def _legend(draw: ImageDraw.ImageDraw, layout: Layout) -> None:
    f = font(LABEL_SIZE)
    x, y = float(MARGIN), layout.height - LEGEND_H + 6
    items: list[tuple[str, str]] = [(FAMILY_COLOURS[fam], fam.value) for fam in Family]
    shown = {m for m in layout.marks.nodes.values()}
    items += [(MARK_COLOURS[m], m.value) for m in NodeMark if m in shown]
    for colour, text in items:
        w = f.getlength(text)
        if x + 16 + w > layout.width - MARGIN:
            break
        draw.rounded_rectangle([x, y + 2, x + 10, y + 12], radius=2, fill=colour)
        draw.text((x + 14, y), text, fill=MUTED, font=f)
        x += 14 + w + 16
