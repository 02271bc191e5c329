"""What a laid-out picture is made of: the size constants and styles, and the placed boxes,
connections and output labels that `core.graph.layout` computes and `core.graph.render` draws."""

from __future__ import annotations

from dataclasses import dataclass, field

from core.graph.engines import Point
from core.graph.marks import Marks, NodeMark
from core.graph.workflow_graph import (
    Family,
)
from core.kernel.errors import InvalidInput
from core.kernel.safety import MAX_NODES as WORKFLOW_MAX_NODES

MAX_WIDTH = 1600  # px: wider pictures are unreadable once Slack scales them down
MAX_PIXELS = 24_000_000  # px: 1,600 × 15,000; a bigger picture is refused (72 MB to draw)
# A picture is drawn up to the nodes a Clixen workflow may have (one number: deploys refuse
# more); a bigger workflow (a file, one edited in n8n) gets the text outline only.
MAX_NODES = WORKFLOW_MAX_NODES
OVERVIEW_NODES = 40  # beyond this, small boxes without types (the text outline has the rest)

MARGIN = 24
PAD = 9
TITLE_SIZE = 20
CAPTION_SIZE = 13
LABEL_SIZE = 11
MESSAGE_SIZE = 11
MESSAGE_LINES = 3
SUB_GAP = 44  # box bottom to the sub-node row: dashed links and their labels
SUB_GAP_X = 14
SUB_GAP_Y = 40
SUBS_PER_ROW = 5
PORT_SPACING = 26  # px between two outputs (or inputs) of one node, room for their labels
NODESEP = 26
RANKSEP = 58
BAND_GAP = 56
LANE = 6  # spacing of connections that share the gap between two bands
FOLD_LANES = RANKSEP // 3 + 4 * LANE
LEGEND_H = 30
MAX_SHARED_LINKS = 3  # a sub-node serving more nodes is linked to the first one only


class PictureTooLarge(InvalidInput):
    """The workflow has more than `MAX_NODES` nodes, or its layout more than `MAX_PIXELS`
    pixels: nothing is drawn."""

    code = "picture_too_large"


@dataclass(frozen=True)
class Style:
    node_w: int
    sub_w: int
    name_size: int
    sub_name_size: int
    type_size: int
    name_lines: int
    show_type: bool


NORMAL = Style(
    node_w=188,
    sub_w=150,
    name_size=15,
    sub_name_size=13,
    type_size=11,
    name_lines=5,
    show_type=True,
)
OVERVIEW = Style(
    node_w=132,
    sub_w=112,
    name_size=12,
    sub_name_size=11,
    type_size=10,
    name_lines=2,
    show_type=False,
)


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    w: float
    h: float

    @property
    def right(self) -> float:
        return self.x + self.w

    @property
    def bottom(self) -> float:
        return self.y + self.h

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    def moved(self, dx: float, dy: float) -> Box:
        return Box(self.x + dx, self.y + dy, self.w, self.h)


@dataclass(frozen=True)
class PlacedNode:
    name: str
    type: str
    family: Family
    box: Box
    lines: tuple[str, ...]  # the name, wrapped
    type_label: str  # "" in an overview
    message: tuple[str, ...]  # n8n's error message for a failed node, wrapped
    mark: NodeMark | None
    rank: int | None  # column of a main node in the flow; None for a sub-node
    band: int  # row of the folded picture (0 = top)
    parent: str | None  # the node a sub-node is drawn under
    kind: str  # what a sub-node is to its parent: "model", "tool", … ("" for main nodes)
    sub: bool


@dataclass(frozen=True)
class PlacedEdge:
    source: str
    target: str
    kind: str
    output: int
    input: int
    points: tuple[Point, ...]
    dashed: bool  # AI connections, as n8n draws them
    folded: bool  # runs from one band to another


@dataclass(frozen=True)
class OutputLabel:
    node: str
    output: int
    text: str
    x: float  # left end of the text
    y: float  # middle of the text


@dataclass(frozen=True)
class Layout:
    width: int
    height: int
    nodes: dict[str, PlacedNode]
    edges: list[PlacedEdge]
    labels: list[OutputLabel]
    engine: str  # "dot", or "simple" when Graphviz is missing
    style: Style
    overview: bool
    bands: int
    title: tuple[str, ...]
    caption: tuple[str, ...]
    marks: Marks = field(default_factory=Marks)

    def box(self, name: str) -> Box:
        return self.nodes[name].box


@dataclass
class Folded:
    blocks: dict[str, Point]  # top-left, after folding, relative to the picture's content origin
    paths: dict[int, list[Point]]  # paths of edges inside one band
    ranks: dict[str, int]
    band_of: dict[str, int]
    band_top: list[float]
    rank_span: dict[int, tuple[float, float]]  # rank → (left, right) after folding
    bands: int
    bottom: float  # of the last band
