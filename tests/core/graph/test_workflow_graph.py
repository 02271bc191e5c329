"""The graph read from n8n's JSON: sticky notes out, output names, AI sub-nodes and whom they
serve."""

from __future__ import annotations

from core.graph import Family, workflow_graph
from core.graph.workflow_graph import output_names
from tests.core.graph.samples import LC, ai_agent, connect, if_and_merge, node, switch


def test_sticky_notes_and_connections_to_unknown_nodes_are_left_out() -> None:
    wf = if_and_merge()
    connect(wf["connections"], "Respond", "Ghost")
    g = workflow_graph(wf)
    assert "Note" not in g.types
    assert all(e.target != "Ghost" for e in g.edges)
    assert len(g.nodes) == 6


def test_if_switch_classifier_and_error_outputs_are_named() -> None:
    assert output_names(node("IF", "if", typeVersion=2)) == ("true", "false")
    assert workflow_graph(switch()).node("Route").outputs == ("Urgent", "Later", "2", "Fallback")
    legacy = node("Old switch", "switch", typeVersion=2)
    assert output_names(legacy) == ("0", "1", "2", "3")
    classifier = node(
        "Triage",
        LC + "textClassifier",
        parameters={
            "categories": {"categories": [{"category": "Bug"}, {"category": "Question"}]},
            "options": {"fallback": "other"},
        },
    )
    assert output_names(classifier) == ("Bug", "Question", "Other")
    http = node("Fetch", "httpRequest", onError="continueErrorOutput")
    assert output_names(http) == ("success", "error")
    assert output_names(node("Loop", "splitInBatches", typeVersion=3)) == ("done", "loop")
    assert output_names(node("Plain", "set")) == ("",)
    # An output used beyond what the node names still gets a name.
    assert output_names(node("Plain", "set"), used=2) == ("output 0", "output 1")


def test_ai_sub_nodes_hang_under_the_node_they_serve_in_n8n_order() -> None:
    g = workflow_graph(ai_agent())
    assert g.parent == {
        "OpenAI Chat Model": "AI Agent",
        "Window Buffer Memory": "AI Agent",
        "Wikipedia": "AI Agent",
        "Calculator": "AI Agent",
    }
    assert g.children("AI Agent") == [
        "OpenAI Chat Model",
        "Window Buffer Memory",
        "Wikipedia",
        "Calculator",
    ]
    assert [e.kind for e in g.main_edges] == ["main", "main"]


def test_merge_has_two_inputs_and_families_colour_nodes() -> None:
    g = workflow_graph(if_and_merge())
    assert g.node("Merge").inputs == 2
    assert g.node("New order").inputs == 0
    families = {n.name: n.family for n in g.nodes}
    assert families["New order"] == Family.trigger
    assert families["Is it a big order with a long name worth wrapping?"] == Family.logic
    assert families["Set defaults"] == Family.data
    assert families["Tell sales in Slack"] == Family.app
    assert workflow_graph(ai_agent()).node("AI Agent").family == Family.ai
