"""The text outline: one chain per branch, every connection once, named outputs, sub-nodes."""

from __future__ import annotations

from typing import Any

from core.graph import text_outline, workflow_graph
from tests.core.graph.samples import ai_agent, connect, node


def _wf(nodes: list[str], edges: list[tuple[str, str, int]]) -> dict[str, Any]:
    connections: dict[str, Any] = {}
    for a, b, out in edges:
        connect(connections, a, b, out=out)
    return {"nodes": [node(n, n.lower()) for n in nodes], "connections": connections}


def test_branching_workflow_outline_names_if_outputs() -> None:
    wf = _wf(
        ["Schedule", "RSS", "IF", "Slack", "Email"],
        [("Schedule", "RSS", 0), ("RSS", "IF", 0), ("IF", "Slack", 0), ("IF", "Email", 1)],
    )
    assert text_outline(workflow_graph(wf)) == [
        "Schedule → RSS → IF (true) → Slack",
        "IF (false) → Email",
    ]


def test_cycle_and_isolated_node_terminate() -> None:
    wf = _wf(["A", "B", "C", "Lonely"], [("A", "B", 0), ("B", "C", 0), ("C", "B", 0)])
    lines = text_outline(workflow_graph(wf))
    assert "Lonely" in lines
    joined = " ".join(lines)
    assert "A → B" in joined and "B → C" in joined and "C → B" in joined


def test_sub_nodes_are_listed_with_what_they_are() -> None:
    lines = text_outline(workflow_graph(ai_agent()))
    assert lines[0] == "When chat message received → AI Agent → Post answer"
    assert lines[1] == (
        "AI Agent uses OpenAI Chat Model (model), Window Buffer Memory (memory), "
        "Wikipedia (tool), Calculator (tool)"
    )


def test_long_outlines_are_capped() -> None:
    names = [f"N{i}" for i in range(40)]
    wf = _wf(names, [])
    lines = text_outline(workflow_graph(wf), max_lines=10)
    assert len(lines) == 11 and lines[-1] == "… and 30 more"
