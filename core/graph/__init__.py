"""Pictures of workflows: the graph read from n8n's JSON, its layout (Graphviz `dot` when
installed, else a simple one), a PNG of it with status marks, and a text outline.

Not Slack-specific: the bot posts the PNG in a run's thread, `clixen graph` writes it to a file.
Importing this package loads Pillow but not pydantic, SQLAlchemy or httpx.
"""

from __future__ import annotations

from core.graph.engines import INSTALL_HINT, dot_available
from core.graph.geometry import (
    MAX_NODES,
    MAX_PIXELS,
    MAX_WIDTH,
    OVERVIEW_NODES,
    Layout,
    PictureTooLarge,
)
from core.graph.layout import layout_workflow
from core.graph.marks import (
    Marks,
    NodeMark,
    check_execution_of,
    diff_marks,
    execution_marks,
    run_marks,
)
from core.graph.outline import text_outline
from core.graph.render import render_png
from core.graph.workflow_graph import (
    MAX_PORTS,
    Family,
    GraphEdge,
    GraphNode,
    WorkflowGraph,
    workflow_graph,
)

__all__ = [
    "INSTALL_HINT",
    "MAX_NODES",
    "MAX_PIXELS",
    "MAX_PORTS",
    "MAX_WIDTH",
    "OVERVIEW_NODES",
    "Family",
    "GraphEdge",
    "GraphNode",
    "Layout",
    "Marks",
    "NodeMark",
    "PictureTooLarge",
    "WorkflowGraph",
    "check_execution_of",
    "diff_marks",
    "dot_available",
    "execution_marks",
    "layout_workflow",
    "render_png",
    "run_marks",
    "text_outline",
    "workflow_graph",
]
