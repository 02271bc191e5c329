"""Pictures of real n8n.io templates (n8n-mcp's nodes.db): every shipped template is laid out
within the width bound, without sticky notes, ranks following connections, sub-nodes under the
node they serve. Timings are measured in benchmarks/graph_render.py, not asserted here."""

from __future__ import annotations

import pytest

from core.generation.templates import Template, TemplateLibrary
from core.graph import MAX_WIDTH, layout_workflow
from core.graph.workflow_graph import STICKY_NOTE
from tests.core.graph.test_layout import assert_no_overlap, assert_ranks_follow_connections


@pytest.fixture(scope="module")
def templates(template_library: TemplateLibrary) -> list[Template]:
    return template_library.templates


def test_every_template_fits_the_width_bound_without_sticky_notes(
    templates: list[Template],
) -> None:
    # Every 7th template: about 250 of 1,762, a second or so of layout (all of them: the benchmark).
    sample = templates[::7]
    too_wide = []
    for t in sample:
        layout = layout_workflow(t.workflow)
        drawn = {n["name"] for n in t.workflow["nodes"] if n.get("type") != STICKY_NOTE}
        assert set(layout.nodes) == drawn, t.name  # every node but the sticky notes
        if layout.width > MAX_WIDTH:
            too_wide.append((t.id, layout.width))
        assert_ranks_follow_connections(layout)
        assert_no_overlap(layout)
        for n in layout.nodes.values():
            if n.parent is not None:
                assert n.box.y > layout.box(n.parent).bottom, (t.name, n.name)
    assert too_wide == []


def test_the_issue_template_is_readable(templates: list[Template]) -> None:
    """A 22-node template (16 nodes, 6 sticky notes) with an LLM chain, its chat model and output
    parser: once a 3,618 × 742 px strip with the sub-nodes in the first column."""
    t = next(
        t
        for t in templates
        if len(t.workflow["nodes"]) == 22
        and t.node_count == 16
        and any("outputParser" in n["type"] for n in t.workflow["nodes"])
    )
    layout = layout_workflow(t.workflow)
    assert layout.width <= MAX_WIDTH and len(layout.nodes) == 16
    subs = [n for n in layout.nodes.values() if n.sub]
    assert subs and all(n.box.y > layout.box(str(n.parent)).bottom for n in subs)
    assert min(n.rank for n in layout.nodes.values() if n.rank is not None) == 0
    assert_no_overlap(layout)
