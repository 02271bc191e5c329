"""The workflow picture: topological columns, every connection once in the text, a real PNG."""

from __future__ import annotations

import io

from PIL import Image

from bot.graph import columns, render_png, text_outline, workflow_graph


def _wf(nodes: list[str], edges: list[tuple[str, str, int]]) -> dict:
    connections: dict = {}
    for a, b, out in edges:
        main = connections.setdefault(a, {"main": []})["main"]
        while len(main) <= out:
            main.append([])
        main[out].append({"node": b, "type": "main", "index": 0})
    return {
        "nodes": [{"name": n, "type": f"n8n-nodes-base.{n.lower()}"} for n in nodes],
        "connections": connections,
    }


def test_branching_workflow_columns_and_outline() -> None:
    wf = _wf(
        ["Schedule", "RSS", "IF", "Slack", "Email"],
        [("Schedule", "RSS", 0), ("RSS", "IF", 0), ("IF", "Slack", 0), ("IF", "Email", 1)],
    )
    g = workflow_graph(wf)
    assert columns(g) == {"Schedule": 0, "RSS": 1, "IF": 2, "Slack": 3, "Email": 3}
    assert text_outline(g) == ["Schedule → RSS → IF → Slack", "IF → Email"]


def test_cycle_and_isolated_node_terminate() -> None:
    wf = _wf(["A", "B", "C", "Note"], [("A", "B", 0), ("B", "C", 0), ("C", "B", 0)])
    g = workflow_graph(wf)
    cols = columns(g)
    assert cols["A"] == 0 and cols["B"] >= 1
    lines = text_outline(g)
    assert "Note" in lines
    joined = " ".join(lines)
    assert "A → B" in joined and "B → C" in joined and "C → B" in joined


def test_connections_to_unknown_nodes_are_dropped() -> None:
    wf = _wf(["A"], [("A", "Ghost", 0)])
    assert workflow_graph(wf).edges == []


def test_png_is_a_real_image_sized_to_the_layout() -> None:
    wf = _wf(["Webhook", "Set", "Respond"], [("Webhook", "Set", 0), ("Set", "Respond", 0)])
    png = render_png(workflow_graph(wf))
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    assert image.width > image.height  # three columns, one row
    # The boxes are drawn: the picture is not a blank canvas.
    assert len(image.getcolors(maxcolors=100_000) or []) > 2
