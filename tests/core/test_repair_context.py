"""Repairs carry the right context (issue 11, item 6): the specs of the node types the failing
workflow uses, for the operation each node set, and the user's answers to earlier questions."""

from __future__ import annotations

from core.catalog import default_catalog
from core.generation.prompts import repair_messages
from core.generation.retrieval import repair_context
from core.validation import Issue

B = "n8n-nodes-base."


def _node(name: str, node_type: str, **parameters: object) -> dict[str, object]:
    return {"name": name, "type": node_type, "typeVersion": 1, "parameters": parameters}


def test_repair_specs_are_those_of_the_candidates_nodes_and_operations() -> None:
    candidate = {
        "nodes": [
            _node("Start", B + "manualTrigger"),
            _node("Issues", B + "github", resource="issue", operation="getAll"),
            _node("Tell", "n8n-nodes-base.Slak", resource="message", operation="post"),
        ],
        "connections": {},
    }
    ctx = repair_context(
        text="send a weather report", workflow=candidate, catalog=default_catalog(), templates=None
    )
    specs = {s["type"]: s for s in ctx.node_specs}
    # The request's words would never bring GitHub or a manual trigger: the candidate does.
    assert list(specs)[:3] == [B + "manualTrigger", B + "github", B + "slack"]
    assert (specs[B + "github"]["resource"], specs[B + "github"]["operation"]) == (
        "issue",
        "getAll",
    )
    assert specs[B + "slack"]["operation"] == "post"  # the misspelt type's meant spec
    assert ctx.examples == []


def test_repair_prompt_keeps_the_users_answers() -> None:
    ctx = repair_context(
        text="post the news", workflow=None, catalog=default_catalog(), templates=None
    )
    user = repair_messages(
        request="post the news",
        workflow={"nodes": [], "connections": {}},
        problems=[Issue("missing_required", "required parameter 'channelId' is empty", "Tell")],
        kind="validation",
        ctx=ctx,
        answers=[{"question": "Which channel?", "answer": "#general please"}],
    )[1]["content"]
    assert "Q: Which channel?" in user and "#general please" in user
