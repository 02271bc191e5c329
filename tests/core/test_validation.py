"""Our validator: every rule fires on a broken workflow and stays quiet on a correct one."""

from __future__ import annotations

import copy
import time
from typing import Any

import pytest

from core.validation import expression_problem, validate
from core.workspace.policy import NodePolicy


def node(
    name: str, type_: str, version: float, params: dict[str, Any], x: int = 0
) -> dict[str, Any]:
    return {
        "id": f"id-{name}",
        "name": name,
        "type": type_,
        "typeVersion": version,
        "position": [x, 0],
        "parameters": params,
    }


def link(*targets: str) -> list[dict[str, Any]]:
    return [{"node": t, "type": "main", "index": 0} for t in targets]


def canonical() -> dict[str, Any]:
    """The canonical RSS → IF → Slack workflow: valid as is (its Slack node names a secret)."""
    wf: dict[str, Any] = {
        "name": "RSS to Slack",
        "nodes": [
            node(
                "Every morning",
                "n8n-nodes-base.scheduleTrigger",
                1.2,
                {"rule": {"interval": [{"field": "hours"}]}},
            ),
            node("Read feed", "n8n-nodes-base.rssFeedRead", 1.2, {"url": "https://x.io/f"}, 200),
            node(
                "Has title?",
                "n8n-nodes-base.if",
                2.2,
                {"conditions": {"conditions": [], "combinator": "and"}},
                400,
            ),
            node(
                "Post",
                "n8n-nodes-base.slack",
                2.3,
                {
                    "select": "channel",
                    "channelId": {"__rl": True, "mode": "id", "value": "C0123456"},
                    "text": "={{ $json.title }} – {{ $json.link.replace(/\\)$/, '') }}",
                },
                600,
            ),
            {
                "name": "Note",
                "type": "n8n-nodes-base.stickyNote",
                "typeVersion": 1,
                "position": [0, -200],
                "parameters": {"content": "unbalanced ( {{ braces"},
            },
        ],
        "connections": {
            "Every morning": {"main": [link("Read feed")]},
            "Read feed": {"main": [link("Has title?")]},
            "Has title?": {"main": [link("Post"), []]},
        },
        "settings": {"executionOrder": "v1"},
    }
    wf["nodes"][3]["credentials"] = {"slackApi": {"name": "SLACK_TOKEN"}}
    return wf


def codes(wf: object, **kw: Any) -> list[str]:
    return [i.code for i in validate(wf, **kw).errors]


def warning_codes(wf: object) -> list[str]:
    return [i.code for i in validate(wf).warnings]


def test_canonical_workflow_is_valid_without_warnings() -> None:
    report = validate(canonical())
    assert report.valid, report.to_dict()
    assert report.warnings == []
    assert report.to_dict() == {"valid": True, "errors": [], "warnings": []}


@pytest.mark.parametrize("bad", [[], "text", None, 3])
def test_non_object_is_invalid_json_shape(bad: object) -> None:
    assert codes(bad) == ["invalid_json_shape"]


def test_nodes_not_a_list_and_missing_nodes() -> None:
    wf = canonical()
    wf["nodes"] = {"a": 1}
    assert codes(wf) == ["invalid_json_shape"]
    del wf["nodes"]
    assert codes(wf) == ["missing_field"]


def test_node_without_type_or_name_is_missing_field() -> None:
    wf = canonical()
    del wf["nodes"][1]["type"]
    assert "missing_field" in codes(wf)
    wf = canonical()
    del wf["nodes"][4]["name"]  # even a sticky note: n8n rejects nameless nodes at create
    assert codes(wf) == ["missing_field"]


def test_missing_type_version_is_an_error_with_the_newest_version_as_hint() -> None:
    wf = canonical()
    del wf["nodes"][1]["typeVersion"]
    report = validate(wf)
    assert [i.code for i in report.errors] == ["missing_field"]
    assert "1.2" in report.errors[0].hint


def test_duplicate_node_name() -> None:
    wf = canonical()
    wf["nodes"][2]["name"] = "Read feed"
    issues = validate(wf).errors
    assert issues[0].code == "duplicate_node_name"
    assert issues[0].node == "Read feed"


def test_unknown_type_hints_the_prefixed_name() -> None:
    wf = canonical()
    wf["nodes"][1]["type"] = "rssFeedRead"
    report = validate(wf)
    assert [i.code for i in report.errors] == ["unknown_node_type"]
    assert "n8n-nodes-base.rssFeedRead" in report.errors[0].hint


def test_community_node_is_an_error() -> None:
    wf = canonical()
    wf["nodes"][1]["type"] = "n8n-nodes-community-thing.rss"
    report = validate(wf)
    assert [i.code for i in report.errors] == ["unknown_node_type"]
    assert "community" in report.errors[0].message


def test_tool_variants_of_usable_as_tool_nodes_are_known() -> None:
    wf = canonical()
    wf["nodes"].append(
        node(
            "Sheets tool",
            "n8n-nodes-base.googleSheetsTool",
            4.6,
            {
                "documentId": {"__rl": True, "mode": "id", "value": "abc"},
                "sheetName": {"__rl": True, "mode": "id", "value": "gid=0"},
            },
        )
    )
    assert "unknown_node_type" not in codes(wf)


def test_unknown_type_version_hints_the_highest() -> None:
    wf = canonical()
    wf["nodes"][2]["typeVersion"] = 9
    report = validate(wf)
    assert [i.code for i in report.errors] == ["unknown_type_version"]
    assert "2.3" in report.errors[0].hint


def test_missing_required_parameter() -> None:
    wf = canonical()
    del wf["nodes"][1]["parameters"]["url"]
    report = validate(wf)
    assert [i.code for i in report.errors] == ["missing_required_parameter"]
    assert report.errors[0].node == "Read feed"
    assert "url" in report.errors[0].hint


def test_required_parameter_depends_on_display_options() -> None:
    wf = canonical()
    params = wf["nodes"][3]["parameters"]
    params.update(resource="channel", operation="archive")
    del params["channelId"]
    assert codes(wf) == []  # "archive" shows an optional channelId
    params["operation"] = "close"  # "close" shows a required one
    assert codes(wf) == ["missing_required_parameter"]
    params["channelId"] = {"__rl": True, "mode": "id", "value": "C0123456"}
    assert codes(wf) == []


def test_resource_locator_value_must_match_its_mode() -> None:
    wf = canonical()
    wf["nodes"][3]["parameters"]["channelId"]["value"] = "YOUR_CHANNEL_ID"
    assert codes(wf) == ["invalid_parameter_value"]
    wf["nodes"][3]["parameters"]["channelId"]["value"] = "={{ $json.channel }}"
    assert codes(wf) == []


def test_disabled_node_parameters_are_not_checked() -> None:
    wf = canonical()
    del wf["nodes"][1]["parameters"]["url"]
    wf["nodes"][1]["disabled"] = True
    assert "missing_required_parameter" not in codes(wf)


def test_dangling_connection() -> None:
    wf = canonical()
    wf["connections"]["Read feed"]["main"][0].append({"node": "Ghost", "type": "main", "index": 0})
    wf["connections"]["Nobody"] = {"main": [link("Post")]}
    found = codes(wf)
    assert found.count("dangling_connection") == 2


def test_connection_keyed_by_id() -> None:
    wf = canonical()
    wf["connections"]["id-Read feed"] = wf["connections"].pop("Read feed")
    report = validate(wf)
    assert [i.code for i in report.errors] == ["connection_by_id"]
    assert '"Read feed"' in report.errors[0].hint


def test_if_has_two_outputs() -> None:
    wf = canonical()
    wf["connections"]["Has title?"]["main"].append(link("Post"))
    report = validate(wf)
    assert [i.code for i in report.errors] == ["output_index_out_of_range"]
    assert "2 main outputs" in report.errors[0].message


def test_single_output_node_and_error_output() -> None:
    wf = canonical()
    wf["connections"]["Read feed"]["main"].append(link("Post"))
    assert codes(wf) == ["output_index_out_of_range"]
    wf["nodes"][1]["onError"] = "continueErrorOutput"  # adds an error output
    assert codes(wf) == []


def test_switch_outputs_follow_its_rules() -> None:
    wf = canonical()
    rules = {"values": [{"outputKey": "a"}, {"outputKey": "b"}]}
    wf["nodes"][2] = node("Has title?", "n8n-nodes-base.switch", 3.2, {"rules": rules}, 400)
    wf["connections"]["Has title?"]["main"] = [link("Post"), link("Post")]
    assert codes(wf) == []
    wf["connections"]["Has title?"]["main"].append(link("Post"))
    assert codes(wf) == ["output_index_out_of_range"]
    wf["nodes"][2]["parameters"]["options"] = {"fallbackOutput": "extra"}
    assert codes(wf) == []


@pytest.mark.parametrize("pos", [[1], ["a", 2], "10,20", [1, 2, 3]])
def test_bad_position(pos: object) -> None:
    wf = canonical()
    wf["nodes"][1]["position"] = pos
    assert codes(wf) == ["bad_position"]


def test_no_trigger() -> None:
    wf = canonical()
    wf["nodes"].pop(0)
    del wf["connections"]["Every morning"]
    wf["nodes"][2] = node("Post", "n8n-nodes-base.noOp", 1, {})  # Slack v2 has a webhook
    assert codes(wf) == ["no_trigger"]


def test_manual_trigger_alone_cannot_be_activated() -> None:
    wf = canonical()
    wf["nodes"][0] = node("Every morning", "n8n-nodes-base.manualTrigger", 1, {})
    wf["nodes"][3] = node("Post", "n8n-nodes-base.noOp", 1, {})
    report = validate(wf)
    assert [i.code for i in report.errors] == ["no_trigger"]
    assert "manual" in report.errors[0].message


def test_webhook_nodes_count_as_triggers() -> None:
    wf = canonical()
    wf["nodes"][0] = node("Every morning", "n8n-nodes-base.webhook", 2, {"path": "in"})
    assert codes(wf) == []
    wf["nodes"][0] = node("Every morning", "n8n-nodes-base.manualTrigger", 1, {})
    assert codes(wf) == []  # Slack v2 can send-and-wait: n8n counts it as a trigger


def test_unreachable_node_is_a_warning_and_sticky_notes_are_exempt() -> None:
    wf = canonical()
    wf["nodes"].append(node("Orphan", "n8n-nodes-base.noOp", 1, {}, 800))
    report = validate(wf)
    assert report.valid
    assert [(i.code, i.node) for i in report.warnings] == [("unreachable_node", "Orphan")]


def test_ai_sub_nodes_attached_to_a_reachable_agent_are_reachable() -> None:
    wf = canonical()
    wf["nodes"].append(node("Agent", "@n8n/n8n-nodes-langchain.agent", 2, {}, 800))
    wf["nodes"].append(
        node(
            "Model",
            "@n8n/n8n-nodes-langchain.lmChatOpenAi",
            1.2,
            {"model": {"__rl": True, "mode": "list", "value": "gpt-4o-mini"}},
            800,
        )
    )
    wf["nodes"][-1]["credentials"] = {"openAiApi": {"name": "OPENAI"}}
    wf["connections"]["Post"] = {"main": [link("Agent")]}
    wf["connections"]["Model"] = {
        "ai_languageModel": [[{"node": "Agent", "type": "ai_languageModel", "index": 0}]]
    }
    assert warning_codes(wf) == []


def test_unbalanced_expression_is_an_error() -> None:
    wf = canonical()
    wf["nodes"][3]["parameters"]["text"] = "={{ $json.title.slice(0, 5 }}"
    report = validate(wf)
    assert [i.code for i in report.errors] == ["expression_syntax"]
    assert report.errors[0].node == "Post"


def test_unclosed_expression_is_only_a_warning() -> None:
    # n8n evaluates `={{ $json.x ` fine (as text), so it must not block a deploy.
    wf = canonical()
    wf["nodes"][3]["parameters"]["text"] = "={{ $json.title "
    report = validate(wf)
    assert report.valid
    assert [i.code for i in report.warnings] == ["expression_syntax"]


@pytest.mark.parametrize(
    "text",
    [
        "={{ $json.a }}",
        "=Hello {{ $json['na)me'] }} and {{ `x ${ $json.b + '}' } y` }}",
        "={{ { a: { b: 1 } }.a.b }}",
        "={{ $json.s.replace(/[(]/g, '') }}",
        "={{ (() => {\n  // 1) a comment with ) and it's fine\n  return 1; })() }}",
        "plain text with { and ( is not an expression",
    ],
)
def test_correct_expressions_pass(text: str) -> None:
    assert expression_problem(text) == (None, False) or not text.startswith("=")


@pytest.mark.parametrize(
    "text",
    ["={{ $json.a) }}", "={{ [1, 2 }}", "={{ 'open }}", "={{ $json.a }} and {{ ((1) }}"],
)
def test_broken_expressions_fail(text: str) -> None:
    problem, fatal = expression_problem(text)
    assert problem and fatal


def test_denied_node_with_plain_reason() -> None:
    wf = canonical()
    wf["nodes"].append(node("Shell", "n8n-nodes-base.ssh", 1, {"command": "ls"}, 800))
    wf["connections"]["Post"] = {"main": [link("Shell")]}
    report = validate(wf, policy=NodePolicy.default())
    denied = [i for i in report.errors if i.code == "node_denied"]
    assert len(denied) == 1 and "SSH" in denied[0].message
    assert "node_denied" not in codes(wf)  # no policy given → no policy check
    allowed = NodePolicy.from_json({"allow": ["n8n-nodes-base.ssh"]})
    assert "node_denied" not in codes(wf, policy=allowed)


def test_unprefixed_denied_type_is_refused_not_suggested() -> None:
    wf = canonical()
    wf["nodes"].append(node("Shell", "executeCommand", 1, {"command": "rm -rf /"}, 800))
    wf["connections"]["Post"] = {"main": [link("Shell")]}
    report = validate(wf, policy=NodePolicy.default())
    denied = [i for i in report.errors if i.node == "Shell"]
    assert [i.code for i in denied] == ["node_denied"]
    assert "n8n-nodes-base.executeCommand" not in (denied[0].hint or "")


def test_executecommand_is_not_loaded_by_n8n_2() -> None:
    wf = canonical()
    wf["nodes"][1]["type"] = "n8n-nodes-base.executeCommand"
    wf["nodes"][1]["typeVersion"] = 1
    assert codes(wf) == ["unknown_node_type"]


def test_issue_hints_are_single_actionable_sentences() -> None:
    wf = canonical()
    wf["nodes"][2]["typeVersion"] = 9
    del wf["nodes"][1]["parameters"]["url"]
    wf["connections"]["Ghost"] = {"main": [link("Post")]}
    for issue in validate(wf).errors:
        assert issue.hint and issue.hint.endswith(".")
        assert issue.severity == "error"


def test_validation_is_fast() -> None:
    # Sanity bound only; the real speed comparison lives in benchmarks/.
    wf = canonical()
    validate(wf)
    start = time.perf_counter()
    for _ in range(200):
        validate(copy.deepcopy(wf))
    assert (time.perf_counter() - start) / 200 < 0.05
