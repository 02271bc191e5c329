"""Clixen's Slack trigger as the model, the validator, the fixer and the picture see it (issue 25,
item 4): offered for Slack requests, its parameters checked, n8n's Slack Trigger refused with
why and how, turned into Clixen's by the fixer, and shown in words (no service needed)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from core.catalog import default_catalog
from core.generation.node_lookup.tools import NodeLookup
from core.generation.retrieval import first_message
from core.generation.template_compact import compact_template
from core.graph import text_outline, workflow_graph
from core.graph.layout import layout_workflow
from core.kernel.slack_trigger import (
    PAYLOAD_FIELDS,
    SLACK_TRIGGER_TYPE,
    TriggerEvent,
    describe_trigger,
    parse_trigger_params,
)
from core.validation import validate
from core.validation.fixes import apply_deterministic_fixes, known_versions
from core.workspace.policy import NodePolicy

N8N_SLACK_TRIGGER = "n8n-nodes-base.slackTrigger"


def _workflow(trigger: dict[str, Any], jira_summary: str = "={{ $json.text }}") -> dict[str, Any]:
    return {
        "name": "Ticket from reaction",
        "nodes": [
            {"id": "t", "position": [0, 0], **trigger},
            {
                "id": "j",
                "name": "Jira",
                "type": "n8n-nodes-base.jira",
                "typeVersion": 1,
                "position": [220, 0],
                "parameters": {
                    "project": {"__rl": True, "mode": "id", "value": "10000"},
                    "issueType": {"__rl": True, "mode": "id", "value": "10001"},
                    "summary": jira_summary,
                },
            },
        ],
        "connections": {
            trigger["name"]: {"main": [[{"node": "Jira", "type": "main", "index": 0}]]}
        },
    }


CLIXEN = {
    "name": "Slack trigger",
    "type": SLACK_TRIGGER_TYPE,
    "typeVersion": 1,
    "parameters": {"events": ["reaction_added"], "channels": ["#support"], "emoji": ["ticket"]},
}
N8N = {
    "name": "Slack Trigger",
    "type": N8N_SLACK_TRIGGER,
    "typeVersion": 1,
    "webhookId": "5f1c",
    "credentials": {"slackApi": {"id": "1", "name": "Slack"}},
    "parameters": {
        "trigger": ["reaction_added"],
        "channelId": {"__rl": True, "mode": "id", "value": "C0SUPPORT"},
        "options": {"reactionEmojis": "ticket, eyes"},
    },
}


def _codes(report: Any, severity: str = "error") -> list[str]:
    issues = report.errors if severity == "error" else report.warnings
    return [i.code for i in issues]


def test_the_trigger_reads_its_parameters_and_says_what_starts_it() -> None:
    params = parse_trigger_params(CLIXEN["parameters"])
    assert params.events == (TriggerEvent.reaction_added,)
    assert params.channels == ("support",) and params.emoji == ("ticket",)
    assert describe_trigger(params) == "reaction :ticket: in #support"
    message = parse_trigger_params(
        {"events": ["message"], "channels": ["C0SUPPORT"], "contains": "urgent"}
    )
    assert describe_trigger(message) == 'message containing "urgent" in C0SUPPORT'
    joins = parse_trigger_params({"events": ["member_joined_channel"], "channels": ["#general"]})
    assert describe_trigger(joins) == "member joins in #general"
    manual = parse_trigger_params(
        {"events": ["manual"], "inputs": [{"name": "week", "label": "Week", "required": True}]}
    )
    assert describe_trigger(manual) == "by hand" and manual.inputs[0].required


@pytest.mark.parametrize(
    ("parameters", "says"),
    [
        ({}, "`events` is empty"),
        ({"events": ["app_mention"]}, "unknown event"),
        ({"events": ["message"]}, "must name its channels"),
        ({"events": ["message"], "channels": ["D0123ABC"]}, "direct message"),
        ({"events": ["message"], "channels": ["={{ $json.c }}"]}, "expression"),
        ({"events": ["message"], "channels": ["#a"], "pattern": "(unclosed"}, "regular expr"),
        ({"events": ["message"], "channels": ["#a"], "pattern": "x" * 201}, "at most 200"),
        ({"events": ["reaction_added"], "emoji": ["not an emoji!"]}, "not an emoji"),
        ({"events": ["message"], "channels": ["#a"], "emoji": ["ticket"]}, "reaction_added"),
        ({"events": ["reaction_added"], "inputs": [{"name": "x"}]}, "manual"),
        ({"events": ["manual"], "inputs": [{"name": "bad name"}]}, "identifier"),
        ({"events": ["manual"], "webhook": "x"}, "unknown parameter"),
    ],
)
def test_bad_trigger_parameters_get_a_sentence_that_says_what_to_fix(
    parameters: dict[str, Any], says: str
) -> None:
    with pytest.raises(ValueError, match=says):
        parse_trigger_params(parameters)
    report = validate(_workflow({**CLIXEN, "parameters": parameters}), policy=NodePolicy.default())
    assert "invalid_slack_trigger" in _codes(report)


def test_a_workflow_with_clixens_trigger_is_valid_and_its_fields_are_known() -> None:
    report = validate(_workflow(CLIXEN), policy=NodePolicy.default())
    assert report.valid, report.errors
    assert "unknown_output_field" not in _codes(report, "warning")
    typo = validate(_workflow(CLIXEN, "={{ $json.messageText }}"), policy=NodePolicy.default())
    warning = next(i for i in typo.warnings if i.code == "unknown_output_field")
    assert "text" in warning.message and "permalink" in warning.message


def test_n8ns_slack_trigger_is_refused_with_why_and_how() -> None:
    report = validate(_workflow(N8N), policy=NodePolicy.default())
    assert not report.valid
    refusal = next(i for i in report.errors if i.code == "slack_trigger_never_fires")
    assert "one request URL" in refusal.message and "Clixen" in refusal.message
    assert SLACK_TRIGGER_TYPE in refusal.hint
    # A bare file check (no project policy) still says so, as a warning.
    bare = validate(_workflow(N8N))
    assert "slack_trigger_never_fires" in _codes(bare, "warning")


def test_the_fixer_turns_n8ns_slack_trigger_into_clixens() -> None:
    catalog = default_catalog()
    fixed, fixes = apply_deterministic_fixes(_workflow(N8N), known_versions=known_versions(catalog))
    node = next(n for n in fixed["nodes"] if n["name"] == "Slack Trigger")
    assert node["type"] == SLACK_TRIGGER_TYPE and node["typeVersion"] == 1
    assert node["parameters"] == {
        "events": ["reaction_added"],
        "channels": ["C0SUPPORT"],
        "emoji": ["ticket", "eyes"],
    }
    assert "credentials" not in node and "webhookId" not in node
    assert any("Clixen's Slack trigger" in f for f in fixes)
    assert validate(fixed, policy=NodePolicy.default()).valid
    workspace = {**N8N, "parameters": {"trigger": ["message"], "watchWorkspace": True}}
    # A message trigger must name its channels: left for the validator to refuse.
    same, _ = apply_deterministic_fixes(
        _workflow(workspace), known_versions=known_versions(catalog)
    )
    assert same["nodes"][0]["type"] == N8N_SLACK_TRIGGER


def test_the_outline_and_the_picture_show_the_trigger_in_words() -> None:
    lines = text_outline(workflow_graph(_workflow(CLIXEN)))
    assert lines == ["Slack trigger (reaction :ticket: in #support) → Jira"]
    boxes = layout_workflow(_workflow(CLIXEN)).nodes
    assert boxes["Slack trigger"].type_label == "reaction :ticket: in #support"
    assert boxes["Jira"].type_label == "jira"


def test_the_models_tools_offer_clixens_trigger_never_n8ns() -> None:
    lookup = NodeLookup(catalog=default_catalog())
    found = json.loads(lookup.answer("search_nodes", '{"query": "slack trigger reaction"}'))
    types = [r["type"] for r in found["results"]]
    assert SLACK_TRIGGER_TYPE in types and N8N_SLACK_TRIGGER not in types
    spec = json.loads(lookup.answer("get_node_spec", json.dumps({"type": SLACK_TRIGGER_TYPE})))
    assert spec["output_fields"] == list(PAYLOAD_FIELDS)
    assert spec["parameters"]["events"]["options"] == [e.value for e in TriggerEvent]
    refused = json.loads(lookup.answer("get_node_spec", json.dumps({"type": N8N_SLACK_TRIGGER})))
    assert SLACK_TRIGGER_TYPE in refused["error"]


@pytest.mark.parametrize(
    "request_text",
    [
        "when someone adds a :ticket: reaction to a message in #support, create a Jira issue "
        "with the message text",
        "when a message in #support says urgent, page on-call",
        "when someone joins #general, DM them the onboarding doc",
        "run the weekly report now",
    ],
)
def test_the_first_prompt_offers_clixens_trigger(request_text: str) -> None:
    fm = first_message(text=request_text, catalog=default_catalog(), templates=None)
    assert SLACK_TRIGGER_TYPE in fm.node_types
    assert N8N_SLACK_TRIGGER not in fm.node_types
    spec = next(s for s in fm.specs if s["type"] == SLACK_TRIGGER_TYPE)
    assert "text" in spec["output_fields"]


def test_an_example_workflow_shows_clixens_trigger_not_n8ns() -> None:
    example = compact_template(_workflow(N8N))
    types = [n["type"] for n in example["nodes"]]
    assert types == [SLACK_TRIGGER_TYPE, "n8n-nodes-base.jira"]
    assert _workflow(N8N)["nodes"][0]["type"] == N8N_SLACK_TRIGGER  # the template is untouched
