"""Pictures of hostile workflows stay bounded (issue 20): a name without spaces is wrapped with
work bounded by the lines shown, not by its length; names, output names and AI link kinds are
shortened; a connection into input 100,000 draws a small picture; a picture over MAX_PIXELS is
refused. Speed itself is measured by `benchmarks/graph_render.py --bounds`."""

from __future__ import annotations

import dataclasses

import pytest

from core.graph import (
    MAX_NODES,
    MAX_PIXELS,
    MAX_PORTS,
    Marks,
    NodeMark,
    PictureTooLarge,
    layout_workflow,
    render_png,
    text_outline,
    workflow_graph,
)
from core.graph.text import LINE_CHARS, font, text_width, wrap
from tests.core.graph.samples import chain, connect, node, switch

LONG = "x" * 20_000


class MeasuredFont:
    """A real font that counts the characters it measures, and stops a test that measures far
    more than a bounded wrap can (the cubic wrap measured billions for a 20,000-character word)."""

    def __init__(self, size: int, budget: int) -> None:
        self.real = font(size)
        self.budget = budget
        self.measured = 0

    def getlength(self, text: str) -> float:
        self.measured += len(text)
        if self.measured > self.budget:
            raise AssertionError(f"wrap measured more than {self.budget} characters")
        return float(self.real.getlength(text))


@pytest.mark.parametrize("text", [LONG, " ".join(["word"] * 5_000), "\u200b" * 20_000])
def test_wrapping_a_20000_character_name_measures_a_bounded_amount_of_text(text: str) -> None:
    f = MeasuredFont(15, budget=200_000)
    lines = wrap(text, f, 160, 5)  # type: ignore[arg-type]
    assert 1 <= len(lines) <= 5
    assert all(len(line) <= LINE_CHARS for line in lines)
    assert all(text_width(line, f.real) <= 160 for line in lines)
    assert lines[-1].endswith("…")  # the cut is visible
    # The same work as a text ten times shorter: bounded by what is shown, not by the input.
    g = MeasuredFont(15, budget=200_000)
    wrap(text[:2_000], g, 160, 5)  # type: ignore[arg-type]
    assert f.measured <= 2 * g.measured + 1_000


def test_short_text_wraps_at_spaces_and_is_not_cut() -> None:
    f = font(15)
    lines = wrap("Tell the sales team in Slack about it", f, 120, 5)
    assert " ".join(lines) == "Tell the sales team in Slack about it"
    assert len(lines) > 1 and not any(line.endswith("…") for line in lines)
    assert wrap("", f, 120, 5) == [""]


def test_a_20000_character_name_title_and_message_give_a_small_picture() -> None:
    wf = chain(["Start", LONG, "End"])
    wf["name"] = LONG
    marks = Marks(nodes={LONG: NodeMark.failed}, messages={LONG: LONG}, caption=LONG)
    layout = layout_workflow(wf, marks=marks, engine="simple")
    placed = layout.nodes[LONG]
    assert len(placed.lines) <= 5 and sum(len(line) for line in placed.lines) < 200
    assert len(placed.message) <= 3 and len(layout.title) <= 2 and len(layout.caption) <= 2
    assert layout.width <= 1600 and layout.height < 600
    assert render_png(layout).startswith(b"\x89PNG")


def test_an_input_index_of_100000_is_drawn_at_a_bounded_port() -> None:
    wf = chain(["Start", "Target"])
    wf["connections"]["Start"]["main"][0][0]["index"] = 100_000
    graph = workflow_graph(wf)
    assert graph.node("Target").inputs <= 10
    assert all(e.input < 10 for e in graph.edges)
    layout = layout_workflow(wf, engine="simple")
    assert layout.height < 800 and layout.width < 800
    assert render_png(layout).startswith(b"\x89PNG")


def test_outputs_are_capped_and_their_names_shortened() -> None:
    wf = switch()
    sw = next(n for n in wf["nodes"] if n["type"].endswith(".switch"))
    sw["parameters"]["rules"]["values"] = [
        {"renameOutput": True, "outputKey": f"{i}-" + "k" * 5_000} for i in range(1_000)
    ]
    wf["nodes"].append(node("Far", "set"))
    connect(wf["connections"], sw["name"], "Far", out=999)
    outputs = workflow_graph(wf).node(sw["name"]).outputs
    assert len(outputs) == MAX_PORTS
    assert all(len(o) <= 40 for o in outputs)
    layout = layout_workflow(wf, engine="simple")
    assert all(len(label.text) <= 40 for label in layout.labels)
    assert layout.width * layout.height <= MAX_PIXELS


def test_a_picture_over_the_pixel_cap_is_refused_with_what_to_do() -> None:
    layout = layout_workflow(chain(["a", "b"]), engine="simple")
    huge = dataclasses.replace(layout, height=MAX_PIXELS // layout.width + 1)
    with pytest.raises(PictureTooLarge, match="text outline"):
        render_png(huge)


def test_the_text_outline_of_a_20000_character_name_stays_short() -> None:
    wf = chain(["Start", LONG, "End"])
    wf["nodes"].append(node("y" * 20_000, "set"))  # not connected: listed alone
    lines = text_outline(workflow_graph(wf))
    assert lines and all(len(line) <= 600 for line in lines)
    assert lines[0].startswith("Start → xxx") and "… → End" in lines[0]


def test_a_workflow_beyond_the_node_cap_is_refused_before_layout() -> None:
    wf = chain([f"n{i}" for i in range(MAX_NODES + 1)])
    with pytest.raises(PictureTooLarge, match="text outline"):
        layout_workflow(wf, engine="simple")
