"""Reply parsing, deterministic fixes, retrieval and prompt building (no network needed)."""

from __future__ import annotations

import json

import pytest

from core.catalog import default_catalog
from core.generation.edit_prompts import edit_messages
from core.generation.prompts import PromptContext, generation_messages, repair_messages
from core.generation.replies import (
    ProposedWorkflow,
    Question,
    parse_reply,
    retrieve_context,
)
from core.kernel.safety import LLMOutputInvalid
from core.validation import Issue, validate
from core.validation.fixes import apply_deterministic_fixes, known_versions
from tests.core.test_pipeline import schedule_workflow


def test_parse_reply_accepts_a_workflow_or_a_question() -> None:
    wf = schedule_workflow()
    parsed = parse_reply(json.dumps({"workflow": wf, "summary": "  Posts news.  "}))
    assert isinstance(parsed, ProposedWorkflow)
    assert parsed.workflow["name"] == "Morning news" and parsed.summary == "Posts news."
    asked = parse_reply('{"question": "Which channel?"}')
    assert asked == Question("Which channel?")
    fenced = parse_reply("```json\n" + json.dumps({"workflow": wf}) + "\n```")
    assert isinstance(fenced, ProposedWorkflow) and fenced.summary == ""


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        ("Here you go: {}", "not one JSON object"),
        ("[1, 2]", "not an object"),
        ('{"summary": "x"}', 'neither a "workflow"'),
        ('{"workflow": {"nodes": []}}', "non-empty list"),
        ('{"workflow": {"nodes": [1]}}', "must be an object"),
        ('{"workflow": {"nodes": [{}], "connections": []}}', "connections"),
    ],
)
def test_parse_reply_rejects_anything_else_with_a_reason(reply: str, reason: str) -> None:
    with pytest.raises(LLMOutputInvalid) as e:
        parse_reply(reply)
    assert reason in e.value.reason


def test_deterministic_fixes_make_an_invalid_workflow_valid() -> None:
    catalog = default_catalog()
    wf = schedule_workflow()
    wf["nodes"][0]["type"] = "scheduleTrigger"
    wf["nodes"][1]["typeVersion"] = 42
    del wf["nodes"][1]["id"]
    wf["nodes"][1]["position"] = "here"
    wf["nodes"][1]["parameters"] = {"value": "{{ $json.title }}", "keep": "={{ $json.x }}"}
    wf["connections"] = {"n1": {"main": [[{"node": "n2", "type": "main", "index": 0}]]}}
    wf["nodes"][1]["id"] = "n2"
    assert not validate(wf, catalog=catalog).valid

    fixed, fixes = apply_deterministic_fixes(wf, known_versions=known_versions(catalog))
    assert validate(fixed, catalog=catalog).valid, validate(fixed, catalog=catalog).errors
    set_node = fixed["nodes"][1]
    assert fixed["nodes"][0]["type"] == "n8n-nodes-base.scheduleTrigger"
    assert set_node["typeVersion"] in catalog.nodes["n8n-nodes-base.set"].versions
    assert set_node["parameters"] == {"value": "={{ $json.title }}", "keep": "={{ $json.x }}"}
    assert set_node["position"] == [470, 300]
    assert list(fixed["connections"]) == ["Every morning"]
    assert fixed["connections"]["Every morning"]["main"][0][0]["node"] == "Shape item"
    assert len(fixes) == 6
    assert wf["nodes"][0]["type"] == "scheduleTrigger"  # the input is left untouched


def test_null_node_fields_are_dropped_for_free() -> None:
    """n8n's API refuses null in node fields; omitting them means their defaults."""
    catalog = default_catalog()
    wf = schedule_workflow()
    wf["nodes"][1]["credentials"] = None
    wf["nodes"][1]["waitBetweenTries"] = None
    assert not validate(wf, catalog=catalog).valid

    fixed, fixes = apply_deterministic_fixes(wf, known_versions=known_versions(catalog))
    assert "credentials" not in fixed["nodes"][1] and "waitBetweenTries" not in fixed["nodes"][1]
    assert validate(fixed, catalog=catalog).valid
    assert fixes == ["Shape item: dropped empty field(s) credentials, waitBetweenTries"]


def test_a_clean_workflow_needs_no_fix() -> None:
    _, fixes = apply_deterministic_fixes(
        schedule_workflow(), known_versions=known_versions(default_catalog())
    )
    assert fixes == []


def test_retrieval_picks_relevant_nodes_and_drops_denied_ones() -> None:
    ctx = retrieve_context(
        text="every hour fetch https://api.example.com/prices and post to #alerts in slack",
        catalog=default_catalog(),
        templates=None,
        secret_names=["slack-bot"],
        denied_types=["n8n-nodes-base.httpRequest"],
    )
    types = [s["type"] for s in ctx.node_specs]
    assert "n8n-nodes-base.scheduleTrigger" in types and "n8n-nodes-base.slack" in types
    assert "n8n-nodes-base.httpRequest" not in types
    assert len(types) <= 8
    slack = next(s for s in ctx.node_specs if s["type"] == "n8n-nodes-base.slack")
    assert slack["typeVersion"] == max(default_catalog().nodes["n8n-nodes-base.slack"].versions)
    assert "slackApi" in slack["credentials"]


def test_prompts_carry_names_of_secrets_never_values_and_fence_the_user() -> None:
    ctx = PromptContext(secret_names=["slack-bot"], denied_types=["n8n-nodes-base.ssh"])
    [_, user] = generation_messages(request="post to #news", ctx=ctx)
    assert "slack-bot" in user["content"] and "n8n-nodes-base.ssh" in user["content"]
    assert "<<<USER_REQUEST_" in user["content"] and "<<<END_USER_REQUEST_" in user["content"]

    [_, edit] = edit_messages(current=schedule_workflow(), change="also #ops", ctx=ctx)
    assert "Workflow 'Morning news'" in edit["content"] and "<<<USER_CHANGE_" in edit["content"]
    assert "slack-bot" in edit["content"]

    [_, rep] = repair_messages(
        request="post to #news",
        workflow=schedule_workflow(),
        problems=[Issue("unknown_type", "unknown node type", "Shape item", hint="use set")],
        kind="validation",
        ctx=ctx,
    )
    assert '"code":"unknown_type"' in rep["content"] and '"hint":"use set"' in rep["content"]
    assert '"name":"Morning news"' in rep["content"]
