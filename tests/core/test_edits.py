"""Edit operations (`core.generation.edits`) and the edit prompt (`core.generation.edit_prompts`),
without a network."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from core.generation.edit_prompts import EDIT_RULES, edit_messages, outline, touched_nodes
from core.generation.edits import (
    EditRejected,
    apply_operations,
    merge_patch,
    parse_edit_reply,
    parse_operations,
    unrequested_removals,
)
from core.generation.prompts import PromptContext
from core.generation.replies import Question
from core.kernel.safety import LLMOutputInvalid


def rss_to_slack() -> dict[str, Any]:
    return {
        "name": "News",
        "nodes": [
            {
                "id": "t",
                "name": "Trigger",
                "type": "n8n-nodes-base.rssFeedReadTrigger",
                "typeVersion": 1,
                "position": [0, 0],
                "parameters": {"feedUrl": "https://example.com/feed.xml"},
            },
            {
                "id": "s",
                "name": "Post to Slack",
                "type": "n8n-nodes-base.slack",
                "typeVersion": 2.3,
                "position": [220, 0],
                "parameters": {
                    "select": "channel",
                    "channelId": {"__rl": True, "mode": "name", "value": "#news"},
                    "text": "={{ $('Trigger').item.json.title }}",
                    "otherOptions": {"unfurl_links": False},
                },
                "credentials": {"slackApi": {"id": "cred-123", "name": "SLACK_TOKEN"}},
            },
        ],
        "connections": {
            "Trigger": {"main": [[{"node": "Post to Slack", "type": "main", "index": 0}]]}
        },
        "settings": {"executionOrder": "v1"},
    }


def ops(*items: dict[str, Any]) -> list[Any]:
    return parse_operations(list(items))


def test_insert_a_node_between_two_keeps_the_rest_exactly() -> None:
    wf = rss_to_slack()
    before = copy.deepcopy(wf)
    result = apply_operations(
        wf,
        ops(
            {"op": "disconnect", "from": "Trigger", "to": "Post to Slack"},
            {"op": "add_node", "node": {"name": "Filter", "type": "n8n-nodes-base.filter"}},
            {"op": "connect", "from": "Trigger", "to": "Filter"},
            {"op": "connect", "from": "Filter", "to": "Post to Slack"},
        ),
    )
    assert wf == before  # the input is not touched
    out = result.workflow
    assert out["nodes"][:2] == before["nodes"]  # credentials and all, unchanged
    assert out["nodes"][2]["name"] == "Filter" and out["nodes"][2]["id"]
    assert out["connections"] == {
        "Trigger": {"main": [[{"node": "Filter", "type": "main", "index": 0}]]},
        "Filter": {"main": [[{"node": "Post to Slack", "type": "main", "index": 0}]]},
    }
    assert result.removed == [] and result.recheck == []


def test_update_parameters_is_a_json_merge_and_a_new_type_drops_the_credential() -> None:
    result = apply_operations(
        rss_to_slack(),
        ops(
            {
                "op": "update_parameters",
                "node": "Post to Slack",
                "parameters": {"channelId": {"value": "#ops"}, "otherOptions": None},
            }
        ),
    )
    slack = result.workflow["nodes"][1]
    assert slack["parameters"]["channelId"] == {"__rl": True, "mode": "name", "value": "#ops"}
    assert "otherOptions" not in slack["parameters"]
    assert slack["credentials"] == {"slackApi": {"id": "cred-123", "name": "SLACK_TOKEN"}}
    assert merge_patch({"a": {"b": 1, "c": 2}}, {"a": {"b": None}, "d": [1]}) == {
        "a": {"c": 2},
        "d": [1],
    }

    retyped = apply_operations(
        rss_to_slack(),
        ops({"op": "update_parameters", "node": "Post to Slack", "type": "n8n-nodes-base.discord"}),
    )
    assert "credentials" not in retyped.workflow["nodes"][1]
    assert retyped.recheck == ["Post to Slack"]
    operation = apply_operations(
        rss_to_slack(),
        ops({"op": "update_parameters", "node": "Post to Slack", "parameters": {"operation": "x"}}),
    )
    assert operation.recheck == ["Post to Slack"]
    assert operation.workflow["nodes"][1]["credentials"]["slackApi"]["id"] == "cred-123"


def test_rename_moves_links_and_expression_references() -> None:
    result = apply_operations(
        rss_to_slack(), ops({"op": "rename_node", "node": "Trigger", "new_name": "News feed"})
    )
    out = result.workflow
    assert [n["name"] for n in out["nodes"]] == ["News feed", "Post to Slack"]
    assert "News feed" in out["connections"] and "Trigger" not in out["connections"]
    assert out["nodes"][1]["parameters"]["text"] == "={{ $('News feed').item.json.title }}"


def test_removing_a_node_takes_its_links_and_settings_merge() -> None:
    result = apply_operations(
        rss_to_slack(),
        ops(
            {"op": "remove_node", "node": "Post to Slack"},
            {"op": "update_settings", "settings": {"timezone": "Europe/Paris"}},
        ),
    )
    assert result.removed == ["Post to Slack"]
    assert result.workflow["connections"] == {}
    assert result.workflow["settings"] == {"executionOrder": "v1", "timezone": "Europe/Paris"}


@pytest.mark.parametrize(
    ("op", "reason"),
    [
        ({"op": "remove_node", "node": "Nope"}, "no node named 'Nope'"),
        ({"op": "rename_node", "node": "Trigger", "new_name": "Post to Slack"}, "already exists"),
        ({"op": "disconnect", "from": "Post to Slack", "to": "Trigger"}, "is not connected"),
        ({"op": "connect", "from": "Trigger", "to": "Ghost"}, "no node named 'Ghost'"),
    ],
)
def test_an_operation_that_does_not_fit_is_rejected_with_the_reason(
    op: dict[str, Any], reason: str
) -> None:
    with pytest.raises(EditRejected, match=reason):
        apply_operations(rss_to_slack(), ops(op))


def test_replies_are_parsed_strictly() -> None:
    reply = parse_edit_reply(
        json.dumps({"operations": [{"op": "remove_node", "node": "A"}], "summary": "ok"})
    )
    assert not isinstance(reply, Question) and reply.summary == "ok"
    assert isinstance(parse_edit_reply('{"question": "Which channel?"}'), Question)
    with pytest.raises(LLMOutputInvalid, match="never the whole workflow"):
        parse_edit_reply(json.dumps({"workflow": rss_to_slack(), "summary": "x"}))
    with pytest.raises(LLMOutputInvalid, match="operation 0"):
        parse_edit_reply('{"operations": [{"op": "explode", "node": "A"}]}')
    # A credential reference is a secret's name only: an id is refused.
    with pytest.raises(LLMOutputInvalid):
        parse_operations(
            [
                {
                    "op": "add_node",
                    "node": {
                        "name": "X",
                        "type": "n8n-nodes-base.slack",
                        "credentials": {"slackApi": {"id": "1", "name": "SLACK_TOKEN"}},
                    },
                }
            ]
        )


def test_a_removal_counts_as_asked_only_when_the_request_names_the_node_or_its_type() -> None:
    wf = rss_to_slack()
    remove = ops({"op": "remove_node", "node": "Post to Slack"})
    kwargs: dict[str, Any] = {"operations": remove, "workflow": wf}
    assert unrequested_removals(**kwargs, request="post to #ops instead") == ["Post to Slack"]
    assert unrequested_removals(**kwargs, request="remove post to slack") == []
    assert unrequested_removals(**kwargs, request="drop the slack node") == []
    assert unrequested_removals(**kwargs, request="stop posting", keep=["Trigger"]) == []


def test_the_edit_prompt_is_an_outline_plus_touched_nodes_without_credentials() -> None:
    wf = rss_to_slack()
    text = outline(wf, shown=["Post to Slack"])
    assert "- Post to Slack | n8n-nodes-base.slack v2.3 | credential slackApi (bound)" in text
    assert "- Trigger | n8n-nodes-base.rssFeedReadTrigger v1 | → Post to Slack" in text
    assert touched_nodes(wf, "change the slack channel")[0] == "Post to Slack"
    [system, user] = edit_messages(current=wf, change="post to #ops", ctx=PromptContext())
    assert system["content"] == EDIT_RULES and "Security rules:" in EDIT_RULES
    assert '"name":"Post to Slack"' in user["content"]
    assert "cred-123" not in user["content"] and "SLACK_TOKEN" not in user["content"]
    assert "<<<USER_CHANGE_" in user["content"]
