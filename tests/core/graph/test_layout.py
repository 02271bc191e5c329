"""Layout properties of workflow pictures (not pixels): ranks follow connections, sub-nodes sit
under the node they serve, sticky notes are gone, outputs are labelled at their port, the picture
fits the width bound by folding, and the product still draws without Graphviz."""

from __future__ import annotations

import logging

import pytest

from core.graph import MAX_WIDTH, OVERVIEW_NODES, Layout, dot_available, engines, layout_workflow
from tests.core.graph.samples import ai_agent, chain, connect, if_and_merge, node, switch

IF = "Is it a big order with a long name worth wrapping?"
ENGINES = ["dot", "simple"] if dot_available() else ["simple"]


def assert_ranks_follow_connections(layout: Layout) -> None:
    """Every flow connection that is not part of a loop goes to a later rank."""
    for e in layout.edges:
        if e.dashed:
            continue
        a, b = layout.nodes[e.source], layout.nodes[e.target]
        if a.rank is not None and b.rank is not None and not _reaches(layout, e.target, e.source):
            assert b.rank > a.rank, (e.source, e.target)


def _reaches(layout: Layout, start: str, goal: str) -> bool:
    succ: dict[str, list[str]] = {}
    for e in layout.edges:
        if not e.dashed:
            succ.setdefault(e.source, []).append(e.target)
    seen, todo = set(), [start]
    while todo:
        cur = todo.pop()
        if cur == goal:
            return True
        if cur not in seen:
            seen.add(cur)
            todo.extend(succ.get(cur, []))
    return False


def assert_no_overlap(layout: Layout) -> None:
    boxes = [n.box for n in layout.nodes.values()]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            apart = a.right <= b.x or b.right <= a.x or a.bottom <= b.y or b.bottom <= a.y
            assert apart, (a, b)


@pytest.mark.parametrize("engine", ENGINES)
def test_if_and_merge_flow_left_to_right_with_branches_stacked(engine: str) -> None:
    layout = layout_workflow(if_and_merge(), engine=engine)
    assert layout.engine == engine
    assert "Note" not in layout.nodes  # the sticky note
    assert len(layout.nodes) == 6
    assert_ranks_follow_connections(layout)
    assert_no_overlap(layout)
    rank = {name: n.rank for name, n in layout.nodes.items()}
    assert rank["Tell sales in Slack"] == rank["Set defaults"]  # the two branches share a rank
    true_box, false_box = layout.box("Tell sales in Slack"), layout.box("Set defaults")
    assert true_box.bottom <= false_box.y  # stacked: IF's true branch above its false branch
    assert layout.box("Merge").x > true_box.right
    # The long name is wrapped, not cut.
    assert " ".join(layout.nodes[IF].lines) == IF


@pytest.mark.parametrize("engine", ENGINES)
def test_if_and_switch_outputs_are_labelled_at_their_ports(engine: str) -> None:
    layout = layout_workflow(if_and_merge(), engine=engine)
    labels = {(lb.node, lb.text) for lb in layout.labels}
    assert labels == {(IF, "true"), (IF, "false")}
    box = layout.box(IF)
    true_label = next(lb for lb in layout.labels if lb.text == "true")
    false_label = next(lb for lb in layout.labels if lb.text == "false")
    assert true_label.x >= box.right and true_label.y < false_label.y
    assert box.y <= true_label.y <= box.bottom

    routed = layout_workflow(switch(), engine=engine)
    assert [lb.text for lb in sorted(routed.labels, key=lambda lb: lb.y)] == [
        "Urgent",
        "Later",
        "2",
        "Fallback",
    ]
    # Each output's connection leaves at its own height, in order.
    starts = {e.output: e.points[0][1] for e in routed.edges if e.source == "Route"}
    assert starts[0] < starts[1] < starts[2] < starts[3]


@pytest.mark.parametrize("engine", ENGINES)
def test_ai_sub_nodes_sit_under_their_agent_linked_by_dashed_lines(engine: str) -> None:
    layout = layout_workflow(ai_agent(), engine=engine)
    agent = layout.box("AI Agent")
    subs = ["OpenAI Chat Model", "Window Buffer Memory", "Wikipedia", "Calculator"]
    for name in subs:
        n = layout.nodes[name]
        assert n.sub and n.parent == "AI Agent" and n.rank is None
        assert n.box.y >= agent.bottom + 20  # under it
    lefts = [layout.box(s).x for s in subs]
    assert lefts == sorted(lefts)  # model, memory, tools left to right, as n8n orders them
    middle = (min(layout.box(s).x for s in subs) + max(layout.box(s).right for s in subs)) / 2
    assert abs(middle - agent.cx) < 1  # centred under the agent
    assert layout.nodes["OpenAI Chat Model"].kind == "model"
    assert layout.nodes["Wikipedia"].kind == "tool"
    links = [e for e in layout.edges if e.dashed]
    assert {(e.source, e.target) for e in links} == {(s, "AI Agent") for s in subs}
    for e in links:  # from the sub-node's top up to the agent's bottom
        assert e.points[0][1] == layout.box(e.source).y and e.points[-1][1] == agent.bottom
    # The flow stays on one line: the sub-nodes do not push the agent out of it.
    assert_ranks_follow_connections(layout)
    assert {n.rank for n in layout.nodes.values() if not n.sub} == {0, 1, 2}
    assert_no_overlap(layout)


def test_a_long_chain_folds_into_bands_within_the_width_bound() -> None:
    layout = layout_workflow(chain([f"Step {i}" for i in range(30)]))
    assert layout.width <= MAX_WIDTH
    assert layout.bands > 1
    assert_ranks_follow_connections(layout)
    assert_no_overlap(layout)
    # Each band reads left to right; the next band starts below the previous one.
    first_band = [n for n in layout.nodes.values() if n.band == 0]
    second_band = [n for n in layout.nodes.values() if n.band == 1]
    assert max(n.box.bottom for n in first_band) < min(n.box.y for n in second_band)
    folds = [e for e in layout.edges if e.folded]
    assert len(folds) == layout.bands - 1
    for e in folds:  # the connection runs from the end of one band to the start of the next
        assert e.points[0] == (layout.box(e.source).right, e.points[0][1])
        assert e.points[-1][0] == layout.box(e.target).x
    assert all(
        0 <= x <= layout.width and 0 <= y <= layout.height
        for e in layout.edges
        for x, y in e.points
    )


def test_beyond_forty_nodes_an_overview_and_unconnected_nodes_in_rows() -> None:
    wf = {"name": "Many", "nodes": [node(f"Lonely {i}", "set") for i in range(OVERVIEW_NODES + 5)]}
    wf["connections"] = {}
    layout = layout_workflow(wf)
    assert layout.overview and layout.width <= MAX_WIDTH
    assert all(n.type_label == "" for n in layout.nodes.values())  # small boxes, names only
    rows = {n.box.y for n in layout.nodes.values()}
    assert len(rows) < len(layout.nodes) / 4  # a grid, not one tall column
    assert_no_overlap(layout)


def test_loops_do_not_hang_and_keep_the_other_ranks_in_order() -> None:
    wf = chain(["Start", "Loop", "Work", "Done"])
    wf["nodes"][1] = node("Loop", "splitInBatches", typeVersion=3)
    wf["connections"]["Loop"] = {"main": [[{"node": "Done", "type": "main", "index": 0}], []]}
    connect(wf["connections"], "Loop", "Work", out=1)
    connect(wf["connections"], "Work", "Loop")
    for engine in ENGINES:
        layout = layout_workflow(wf, engine=engine)
        assert {lb.text for lb in layout.labels} == {"done", "loop"}
        assert_ranks_follow_connections(layout)


def test_without_graphviz_the_simple_layout_is_used_and_says_so(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(engines.shutil, "which", lambda _name: None)
    monkeypatch.setattr(engines, "_warned", set())
    with caplog.at_level(logging.WARNING, logger="core.graph.engines"):
        layout = layout_workflow(if_and_merge())
    assert layout.engine == "simple"
    assert "apt-get install graphviz" in caplog.text
    assert_ranks_follow_connections(layout)
    with pytest.raises(engines.LayoutEngineFailed, match="not installed"):
        layout_workflow(if_and_merge(), engine="dot")


def test_an_empty_workflow_still_has_a_picture() -> None:
    layout = layout_workflow({"name": "Empty", "nodes": [], "connections": {}})
    assert layout.nodes == {} and layout.width > 0 and layout.height > 0
