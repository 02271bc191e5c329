"""Status on the picture: what an execution did to each node, what a new version changed."""

from __future__ import annotations

import io

from PIL import Image

from core.graph import NodeMark, diff_marks, execution_marks, layout_workflow, render_png, run_marks
from tests.core.graph.samples import ai_agent, connect, if_and_merge, node

IF = "Is it a big order with a long name worth wrapping?"


def failed_execution() -> dict:
    return {
        "id": "77",
        "status": "error",
        "data": {
            "resultData": {
                "runData": {"New order": [{}], IF: [{}], "Tell sales in Slack": [{}]},
                "lastNodeExecuted": "Tell sales in Slack",
                "error": {
                    "message": "channel_not_found\nStack trace: at Slack.execute (…)",
                    "node": {"name": "Tell sales in Slack"},
                },
            }
        },
    }


def test_a_failed_execution_marks_ran_failed_and_not_reached() -> None:
    marks = execution_marks(if_and_merge(), failed_execution())
    assert marks.nodes == {
        "New order": NodeMark.ran,
        IF: NodeMark.ran,
        "Tell sales in Slack": NodeMark.failed,
        "Set defaults": NodeMark.not_reached,
        "Merge": NodeMark.not_reached,
        "Respond": NodeMark.not_reached,
    }
    assert marks.messages == {"Tell sales in Slack": "channel_not_found"}  # first line only
    assert marks.caption == "execution 77 failed at Tell sales in Slack"

    layout = layout_workflow(if_and_merge(), marks=marks)
    failed = layout.nodes["Tell sales in Slack"]
    assert failed.mark == NodeMark.failed and failed.message == ("channel_not_found",)
    assert layout.nodes["Merge"].mark == NodeMark.not_reached
    assert layout.caption == ("execution 77 failed at Tell sales in Slack",)


def test_without_an_error_node_the_last_node_executed_failed() -> None:
    execution = failed_execution()
    result = execution["data"]["resultData"]
    result["error"] = {"message": "x" * 500}
    result["lastNodeExecuted"] = IF
    marks = execution_marks(if_and_merge(), execution)
    assert marks.nodes[IF] == NodeMark.failed
    assert len(marks.messages[IF]) <= 140 and marks.messages[IF].endswith("…")


def test_a_successful_run_marks_the_untaken_branch_not_reached() -> None:
    ran = {"New order", IF, "Set defaults", "Merge", "Respond"}
    marks = run_marks(if_and_merge(), ran=ran, execution_id="9")
    assert marks.nodes["Tell sales in Slack"] == NodeMark.not_reached
    assert marks.caption == "execution 9 succeeded" and marks.messages == {}


def test_an_edit_marks_added_changed_and_keeps_removed_nodes_in_the_picture() -> None:
    old = if_and_merge()
    new = if_and_merge()
    new["nodes"] = [n for n in new["nodes"] if n["name"] != "Set defaults"]
    new["connections"].pop("Set defaults")
    new["connections"][IF]["main"][1] = []
    new["nodes"].append(node("Log it", "noOp"))
    connect(new["connections"], "Respond", "Log it")
    next(n for n in new["nodes"] if n["name"] == "Respond")["parameters"] = {"respondWith": "text"}

    picture, marks = diff_marks(old, new)
    assert marks.nodes == {
        "Log it": NodeMark.added,
        "Set defaults": NodeMark.removed,
        "Respond": NodeMark.changed,
    }
    layout = layout_workflow(picture, marks=marks)
    assert layout.nodes["Set defaults"].mark == NodeMark.removed
    # The removed node is drawn where it was, with its old connections.
    assert {(e.source, e.target) for e in layout.edges} >= {
        (IF, "Set defaults"),
        ("Set defaults", "Merge"),
    }
    assert "+1 node (Log it)" in marks.caption


def test_marks_are_drawn_in_a_picture_of_the_layout_size() -> None:
    layout = layout_workflow(ai_agent(), marks=run_marks(ai_agent(), ran={"AI Agent"}))
    image = Image.open(io.BytesIO(render_png(layout)))
    assert image.format == "PNG" and image.size == (layout.width, layout.height)
    assert len(image.getcolors(maxcolors=200_000) or []) > 10  # boxes, marks, text: not blank
